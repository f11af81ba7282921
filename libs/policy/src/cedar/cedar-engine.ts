import * as cedar from './cedar-wasm.js';
import { describe } from './validate-policy-set.js';

/**
 * A policy set and its schema, parsed once inside Cedar's wasm module and kept there (the policy
 * engine pre-parses them: policy-engine.ts). Cedar's cache is per thread: a handle is only good in
 * the thread (main or worker) that parsed it.
 */
export interface CompiledPolicySet {
  /** The cache key of the set and of its schema; compiling again with the same id replaces both. */
  readonly id: string;
  /** The policy ids in the set, for audit and for mapping determining ids back to annotations. */
  readonly policyIds: readonly string[];
  /**
   * The id the schema was pre-parsed under, when it is not `id`: the slices of one policy
   * version (policy-engine.ts) are separate sets that share their version's schema.
   */
  readonly schemaId?: string;
}

/** One authorization question, in Cedar's JSON forms. */
export interface CedarRequest {
  readonly principal: cedar.EntityUid;
  readonly action: cedar.EntityUid;
  readonly resource: cedar.EntityUid;
  /** Must match the action's context type in the schema exactly: extra fields are refused. */
  readonly context: cedar.Context;
  /** Only the entities this request needs (principal, resource, parents): cost grows with each. */
  readonly entities: readonly cedar.EntityJson[];
}

/** Cedar's answer, made fail-closed. */
export interface CedarDecision {
  readonly effect: 'allow' | 'deny';
  /** The policies that determined the effect: the permits of an allow, the forbids of a deny. */
  readonly determining: readonly string[];
  /** Every evaluation or request error, as `<policy id>: <message>` when a policy erred. */
  readonly errors: readonly string[];
}

/**
 * Evaluates one request against a compiled set, denying on anything but a clean allow: a request
 * that does not fit the schema, an unknown handle, and any policy whose condition errored. The last
 * matters because Cedar skips an erroring policy, so a `forbid` that reads a missing attribute
 * silently stops forbidding and the answer can be `allow` (issue 5). Never throws.
 */
export function decide(handle: CompiledPolicySet, request: CedarRequest): CedarDecision {
  let answer: cedar.AuthorizationAnswer;
  try {
    answer = cedar.statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context,
      entities: [...request.entities],
      preparsedPolicySetId: handle.id,
      preparsedSchemaName: handle.schemaId ?? handle.id,
      // Type-checks the request against the schema, so an args or risk field of the wrong type is
      // refused up front rather than erroring inside a policy.
      validateRequest: true,
    });
  } catch (error) {
    return { effect: 'deny', determining: [], errors: [`cedar failed: ${describe(error)}`] };
  }
  if (answer.type === 'failure') {
    return { effect: 'deny', determining: [], errors: answer.errors.map((e) => e.message) };
  }
  const { decision, diagnostics } = answer.response;
  const errors = diagnostics.errors.map(({ policyId, error }) => `${policyId}: ${error.message}`);
  if (errors.length === 0) return { effect: decision, determining: diagnostics.reason, errors };
  // Fail closed. A Cedar deny keeps its forbids as determining; an allow overturned by an error
  // was determined by no policy, and the permits that matched must not be recorded as its cause.
  return { effect: 'deny', determining: decision === 'deny' ? diagnostics.reason : [], errors };
}
