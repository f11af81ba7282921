import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as cedar from './cedar-wasm.js';
import { decide as decideCedar, type CompiledPolicySet } from './cedar-engine.js';
import {
  buildCedarRequest,
  readArgsShape,
  type ArgsShape,
  type DecisionInput,
} from './cedar-request.js';
import { annotationIssues } from './policy-files.js';
import { policyMeta, ScopeIndex, unclassified, type PolicyMeta } from './policy-scope.js';
import {
  describe,
  toIssue,
  validatePolicySet,
  type CedarIssue,
  type PolicyTexts,
} from './validate-policy-set.js';

/** The decision stage's answer for one call. */
export interface EngineDecision {
  readonly effect: 'allow' | 'deny' | 'approval_required';
  /** The policies that determined the effect, sorted: permits of an allow, forbids of a deny. */
  readonly determining: readonly string[];
  /** Every request or evaluation error; any error makes the effect `deny`. */
  readonly errors: readonly string[];
  /** Present for `approval_required`: who must approve, and whether the owner may not. */
  readonly approval?: { readonly group: string; readonly separation_of_duties: boolean };
  /** Microseconds spent building the request and evaluating it. */
  readonly evalUs?: number;
}

/** One policy version, compiled: answers {@link DecisionInput}s. Good only in its own thread. */
export interface PolicyEngine {
  /** The version's id: Cedar's cache key for its schema and the prefix of its slices' keys. */
  readonly id: string;
  readonly policyIds: readonly string[];
  /** Decides one call. Never throws; any error denies. */
  decide(input: DecisionInput): EngineDecision;
  /**
   * Releases what it can. cedar-wasm 4.13 has no call that removes a pre-parsed set or schema
   * from its cache, so each set this engine parsed is replaced by an empty one (a few bytes
   * remain per key) and later decisions deny. Best effort: never throws.
   */
  dispose(): void;
}

/** Options of {@link compilePolicyEngine}. */
export interface PolicyEngineOptions {
  /**
   * Evaluate each request against only the policies whose scope can match it (default true).
   * Off, every request is evaluated against the whole set: the reference the property test
   * compares slicing with.
   */
  readonly slicing?: boolean;
  /** Request shapes whose slice is remembered (default 10 000); the memo is cleared when full. */
  readonly memoSize?: number;
}

/** The result of {@link compilePolicyEngine}. */
export type PolicyEngineResult =
  | { readonly ok: true; readonly engine: PolicyEngine }
  | { readonly ok: false; readonly errors: readonly CedarIssue[] };

/**
 * Compiles one policy version: validates the set (strict, with Warden's annotation rules), reads
 * each policy's scope and annotations once, pre-parses the schema, and returns an engine that
 * builds each Cedar request itself and maps Cedar's answer to allow / deny / approval_required.
 * Never throws.
 *
 * Slicing (issue 5, DESIGN §11): Cedar's cost grows with every policy in the set, so each request
 * is evaluated only against the policies whose principal, action and resource constraints can
 * match it. Each distinct slice is pre-parsed once, lazily, under `<id>#<n>` and reused: a slice
 * is keyed by its sorted policy ids, so many tools sharing the same applicable policies share one.
 * The slicing is sound: a policy is left out only when its scope provably cannot match (see
 * policy-scope.ts); one whose scope cannot be read is in every slice.
 */
export function compilePolicyEngine(
  id: string,
  schemaText: string,
  policies: PolicyTexts,
  options: PolicyEngineOptions = {},
): PolicyEngineResult {
  try {
    const validation = validatePolicySet(schemaText, policies);
    const annotations = annotationIssues(policies);
    const errors = [...validation.errors, ...annotations.errors];
    if (errors.length > 0) return { ok: false, errors };
    const shape = readArgsShape(schemaText);
    if (typeof shape === 'string') return { ok: false, errors: [{ message: shape }] };
    const schema = cedar.preparseSchema(id, schemaText);
    if (schema.type === 'failure') {
      return { ok: false, errors: schema.errors.map((error) => toIssue(error, schemaText)) };
    }
    const metas = Object.keys(policies).map((policyId) => {
      const json = cedar.policyToJson(policies[policyId] ?? '');
      return json.type === 'success' ? policyMeta(policyId, json.json) : unclassified(policyId);
    });
    const engine = new SlicedEngine(id, policies, metas, shape, options);
    if (options.slicing === false) {
      const full = engine.preparse(Object.keys(policies).sort());
      if (typeof full === 'string') return { ok: false, errors: [{ message: full }] };
    }
    return { ok: true, engine };
  } catch (error) {
    return { ok: false, errors: [{ message: `cedar failed: ${describe(error)}` }] };
  }
}

class SlicedEngine implements PolicyEngine {
  readonly policyIds: readonly string[];
  private readonly metas: ReadonlyMap<string, PolicyMeta>;
  private readonly index: ScopeIndex;
  /** Pre-parsed slices by their sorted policy ids joined with `\n` (ids cannot hold one… */
  private readonly slices = new Map<string, CompiledPolicySet>();
  /** …and the slice of each request shape seen (principal, domains, tool, groups, domain). */
  private readonly memo = new Map<string, CompiledPolicySet>();
  private readonly memoSize: number;
  private readonly slicing: boolean;
  private disposed = false;

  constructor(
    readonly id: string,
    private readonly policies: PolicyTexts,
    metas: readonly PolicyMeta[],
    private readonly shape: ArgsShape,
    options: PolicyEngineOptions,
  ) {
    this.policyIds = Object.keys(policies);
    this.metas = new Map(metas.map((meta) => [meta.id, meta]));
    this.index = new ScopeIndex(metas);
    this.slicing = options.slicing !== false;
    this.memoSize = options.memoSize ?? 10_000;
  }

  decide(input: DecisionInput): EngineDecision {
    const started = performance.now();
    const decision = this.decideUnsafe(input);
    return { ...decision, evalUs: Math.round((performance.now() - started) * 1000) };
  }

  private decideUnsafe(input: DecisionInput): EngineDecision {
    try {
      if (this.disposed) return deny([`policy engine ${this.id} was disposed`]);
      const built = buildCedarRequest(this.shape, input);
      if (!built.ok) return deny(built.errors);
      const handle = this.sliceFor(built.scope);
      if (typeof handle === 'string') return deny([handle]);
      const answer = decideCedar(handle, built.request);
      const determining = [...answer.determining].sort();
      const errors = [...answer.errors].sort();
      if (answer.effect === 'deny') return { effect: 'deny', determining, errors };
      return this.withApprovals(determining);
    } catch (error) {
      return deny([`decision failed: ${describe(error)}`]);
    }
  }

  /**
   * An allow is plain when some determining permit has no `@approval`; when all have one, the
   * call needs approval. With several groups the smallest policy id (string order) names the
   * group, so the answer does not depend on the order Cedar reports reasons in.
   */
  private withApprovals(determining: readonly string[]): EngineDecision {
    const permits = determining.map((policyId) => this.metas.get(policyId));
    if (permits.some((meta) => meta?.approval === undefined)) {
      return { effect: 'allow', determining, errors: [] };
    }
    const chosen = permits[0]; // determining is sorted
    if (chosen?.approval === undefined) return deny(['allow with no determining policy']);
    return {
      effect: 'approval_required',
      determining,
      errors: [],
      approval: { group: chosen.approval, separation_of_duties: chosen.separationOfDuties },
    };
  }

  private sliceFor(scope: Parameters<ScopeIndex['candidates']>[0]): CompiledPolicySet | string {
    if (!this.slicing) return this.preparse(this.sortedIds());
    const memoKey = JSON.stringify([
      scope.principal.key,
      scope.principal.ancestors,
      scope.resource.key,
      scope.resource.ancestors,
      scope.action.key,
    ]);
    const remembered = this.memo.get(memoKey);
    if (remembered !== undefined) return remembered;
    const handle = this.preparse(this.index.candidates(scope));
    if (typeof handle === 'string') return handle;
    if (this.memo.size >= this.memoSize) this.memo.clear();
    this.memo.set(memoKey, handle);
    return handle;
  }

  private sortedIds(): string[] {
    return [...this.policyIds].sort();
  }

  /** The pre-parsed set of exactly `ids` (sorted), parsing it on first use. */
  preparse(ids: readonly string[]): CompiledPolicySet | string {
    const key = ids.join('\n');
    const known = this.slices.get(key);
    if (known !== undefined) return known;
    const setId = `${this.id}#${createHash('sha256').update(key).digest('base64url').slice(0, 16)}`;
    const staticPolicies: Record<string, string> = {};
    for (const policyId of ids) staticPolicies[policyId] = this.policies[policyId] ?? '';
    const parsed = cedar.preparsePolicySet(setId, { staticPolicies });
    if (parsed.type === 'failure') {
      return `could not pre-parse a slice: ${parsed.errors.map((e) => e.message).join('; ')}`;
    }
    const handle: CompiledPolicySet = { id: setId, policyIds: ids, schemaId: this.id };
    this.slices.set(key, handle);
    return handle;
  }

  dispose(): void {
    this.disposed = true;
    for (const handle of this.slices.values()) {
      try {
        cedar.preparsePolicySet(handle.id, { staticPolicies: {} });
      } catch {
        // Best effort: the engine already denies everything.
      }
    }
    this.slices.clear();
    this.memo.clear();
  }
}

function deny(errors: readonly string[]): EngineDecision {
  return { effect: 'deny', determining: [], errors };
}
