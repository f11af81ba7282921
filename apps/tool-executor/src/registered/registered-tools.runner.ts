import type { PreparedTool, SectionProblems, ToolAdapter } from '../adapters/tool-adapter.js';
import type { ToolArgs, ToolResult, ToolSpec } from '../domain/tools.js';
import type { RunOptions, ToolRunner } from '../infra/tool-runner.js';
import type { BreakerStore } from './breaker-store.js';
import type { RegisteredTool, RegisteredTools } from './registered-tools.js';

/** Where the runner finds a tool's credential (the executor's secret store, per env). */
export interface SecretSource {
  resolve(ref: string): Promise<string | undefined>;
}

/** Who hears about a breaker opening or closing (the executor publishes `breaker.*`). */
export interface BreakerListener {
  /** `probeAfter` (epoch ms, when opened): when the breaker lets one call through to probe. */
  changed(
    tool: string,
    change: 'opened' | 'closed',
    reason: string | undefined,
    probeAfter?: number,
  ): Promise<void>;
}

/** Reasons of this runner's own failures, beside the adapters' and the executor's. */
export const RegisteredReason = {
  /** The declaration's executor section cannot be used here (unknown upstream, bad template…). */
  misconfigured: 'tool_misconfigured',
  /** The tool's breaker is open: the call failed fast, nothing was sent. */
  breakerOpen: 'breaker_open',
  /** The secret the tool needs is not in this env's store. */
  secretMissing: 'secret_missing',
} as const;

/** The upstream failures that count against a breaker (a 4xx is the caller's, not the upstream's). */
const UPSTREAM_DOWN = new Set(['upstream_error', 'upstream_unavailable']);

/**
 * Runs registered tools (KV `tools`) through their declared adapter (`http`, `nats`): checks the
 * tool's breaker, resolves its credential, calls, and records the outcome on the breaker. Tools
 * declared `builtin` are the built-in runner's, not this one's.
 */
export class RegisteredToolRunner implements ToolRunner {
  private readonly prepared = new Map<string, PreparedTool | SectionProblems>();

  constructor(
    private readonly tools: RegisteredTools,
    private readonly adapters: readonly ToolAdapter[],
    private readonly secrets: SecretSource,
    private readonly breakers: BreakerStore,
    private readonly listener: BreakerListener,
    private readonly now: () => number = Date.now,
  ) {}

  async describe(tool: string, version?: number): Promise<ToolSpec | undefined> {
    const registered = await this.tools.get(tool, version);
    if (registered === undefined || registered.declaration.executor.adapter === 'builtin') {
      return undefined;
    }
    const { declaration } = registered;
    const prepared = this.prepare(registered);
    return {
      traits: { kind: declaration.kind, honoursIdempotencyKey: declaration.idempotency_keys },
      validate: (args) => {
        const checked = registered.validate(args);
        return checked.ok
          ? { ok: true, args: { ...checked.value } }
          : { ok: false, violations: checked.violations };
      },
      // A misconfigured tool fails at once (see run), so its timeout hardly matters.
      timeoutMs: () => (prepared.ok ? prepared.timeoutMs : 1_000),
      sealOutput: declaration.executor['seal_output'] === true,
    };
  }

  async run(tool: string, args: ToolArgs, options: RunOptions): Promise<ToolResult> {
    const registered = await this.tools.get(tool, options.version);
    if (registered === undefined) throw new Error(`${tool} is not registered (any more)`);
    const prepared = this.prepare(registered);
    if (!prepared.ok) {
      return refused(
        RegisteredReason.misconfigured,
        `${tool} cannot be called in this env: ${prepared.problems.join('; ')}`.slice(0, 2048),
      );
    }
    const intentId = options.idempotencyKey;
    const admission = await this.breakers.admit(tool, intentId, this.now());
    if (admission.kind === 'fail_fast') {
      return refused(
        RegisteredReason.breakerOpen,
        `the upstream of ${tool} keeps failing: its breaker opened at ${new Date(admission.openedAt).toISOString()}; the next try goes through in ${Math.ceil(admission.retryInMs / 1000)} s`,
      );
    }
    let secret: string | undefined;
    if (prepared.secretRef !== undefined) {
      try {
        secret = await this.secrets.resolve(prepared.secretRef);
      } catch (error) {
        // Nothing was sent: a failure, never an unknown outcome. (The store's errors hold no value.)
        return refused(
          RegisteredReason.secretMissing,
          `${tool} needs the secret ${prepared.secretRef}, which cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (secret === undefined) {
        return refused(
          RegisteredReason.secretMissing,
          `${tool} needs the secret ${prepared.secretRef}, which this env does not have: warden secrets set ${prepared.secretRef} --from-stdin`,
        );
      }
    }
    let result: ToolResult;
    try {
      result = await prepared.call({
        args,
        intentId,
        signal: options.signal,
        ...(secret === undefined ? {} : { secret }),
      });
    } catch (error) {
      await this.record(tool, false);
      throw error;
    }
    await this.record(tool, result.ok || !UPSTREAM_DOWN.has(result.reason));
    return result;
  }

  /** The adapter's view of a tool version, checked once per version and digest. */
  private prepare(registered: RegisteredTool): PreparedTool | SectionProblems {
    const { declaration, digest } = registered;
    const key = `${declaration.name}@${declaration.version}:${digest}`;
    const held = this.prepared.get(key);
    if (held !== undefined) return held;
    // `seal_output` is the executor's, not the adapter's: the adapter checks only its own fields.
    const { adapter: kind, seal_output: _seal, ...section } = declaration.executor;
    const adapter = this.adapters.find((candidate) => candidate.kind === kind);
    const prepared: PreparedTool | SectionProblems =
      adapter === undefined
        ? { ok: false, problems: [`executor.adapter: no ${kind} adapter in this executor`] }
        : adapter.prepare(
            declaration.name,
            { adapter: kind, ...section },
            {
              argNames: Object.keys(declaration.args.properties ?? {}),
            },
          );
    this.prepared.set(key, prepared);
    return prepared;
  }

  private async record(tool: string, ok: boolean): Promise<void> {
    const { change, state, probeAfter } = await this.breakers.record(tool, ok, this.now());
    if (change !== undefined) await this.listener.changed(tool, change, state.reason, probeAfter);
  }
}

function refused(reason: string, message: string): ToolResult {
  return { ok: false, reason, message, maybeApplied: false };
}
