import type { ToolArgs, ToolResult } from '../domain/tools.js';

/**
 * How the executor reaches a registered tool's upstream (issue 7 §2): one adapter per
 * `executor.adapter` of a tool declaration (`http`, `nats`; a third, e.g. MCP, is a new file
 * implementing this). The executor picks the adapter, resolves the credential, enforces the
 * timeout and the breaker; the adapter turns the call into a request and the answer into a result.
 */
export interface ToolAdapter {
  /** The `executor.adapter` value it serves. */
  readonly kind: string;
  /**
   * Checks a declaration's `executor` section (the adapter's own fields) and returns what a call
   * needs, or every problem found (`path: message`). Called when a tool version is loaded, so a
   * bad section fails that tool's calls with a clear reason rather than at request time.
   * `declared` (optional, added for the http adapter's templates) is what the rest of the
   * declaration says that the section may refer to.
   */
  prepare(
    tool: string,
    section: Readonly<Record<string, unknown>>,
    declared?: DeclaredTool,
  ): PreparedTool | SectionProblems;
}

/**
 * What a section may refer to outside itself. Every field is optional: an adapter checks what it
 * is given, and what it could not check fails the call instead (a template naming an arg the call
 * lacks sends nothing).
 */
export interface DeclaredTool {
  /** The top-level property names of the tool's args schema (templates may only name these). */
  readonly argNames?: readonly string[];
}

/** A declaration's executor section the adapter accepted, ready to be called. */
export interface PreparedTool {
  readonly ok: true;
  /** Longest one call may take (the section's `timeout_ms`, or the adapter's default). */
  readonly timeoutMs: number;
  /** The secret the call needs (`secret_ref`), if any: the executor resolves it per env. */
  readonly secretRef?: string;
  call(call: AdapterCall): Promise<AdapterResult>;
}

/** Why an executor section cannot be used. */
export interface SectionProblems {
  readonly ok: false;
  readonly problems: readonly string[];
}

/** One call of a prepared tool. */
export interface AdapterCall {
  /** Valid args (parsed with the tool's registered schema). */
  readonly args: ToolArgs;
  /** The intent id: the idempotency key sent upstream, and the `jti` of a per-call token. */
  readonly intentId: string;
  /** The secret `secretRef` named, resolved for this env; never logged, never in a result. */
  readonly secret?: string;
  /** Aborted when the attempt's timeout passes. */
  readonly signal: AbortSignal;
}

/**
 * What the upstream answered: the tool's result, with the upstream's status where it has one
 * (HTTP status). A failure's `message` must not contain the secret or request headers.
 */
export type AdapterResult = ToolResult;
