import type { DataOf, Principal, Risk } from '@warden/contracts';
import type { ArgsValidator, Violation } from './args-validator.js';
import { compilePolicyEngine, loadPolicyFiles, type PolicyEngine } from './cedar/index.js';
import { deriveRisk, type RiskFlags } from './derive-risk.js';
import { STANDARD_RISK_FLAGS, type ToolDeclaration } from './tool-declaration.js';

/** A snake_case reason code (`ReasonCode` of the contracts). */
type ReasonCode = string;

/** A registered tool version as the decision reads it: its declaration and compiled validator. */
export interface DecidableTool {
  readonly declaration: ToolDeclaration;
  readonly validate: ArgsValidator;
}

/** A policy version as the decision reads it: compiled, or why it could not be. */
export interface DecidableVersion {
  readonly version: number;
  readonly engine?: PolicyEngine;
  /** Why the version has no engine (it failed to load): every decision under it is a deny. */
  readonly error?: string;
}

/** What the decision stage reads of an intent. */
export interface IntentFacts {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly step: number;
  readonly principal: Principal;
}

/** The stage's answer for one intent, before it becomes events. */
export type Verdict =
  | {
      readonly kind: 'rejected';
      readonly toolVersion: number;
      readonly message: string;
      readonly details: readonly Violation[];
    }
  | ({ readonly kind: 'decided' } & PolicyOutcome);

/** A policy decision: effect, why, and under which version. */
export interface PolicyOutcome {
  readonly effect: 'allow' | 'deny' | 'approval_required';
  readonly policyIds: readonly string[];
  readonly policyVersion: number;
  readonly errors: readonly string[];
  readonly evalUs: number;
  readonly toolVersion?: number;
  /** The tool's registered price of one call. */
  readonly costMicroUsd?: number;
  readonly args: Record<string, unknown>;
  readonly risk?: Risk;
  /** The derived flags the risk came from: a shadow version is evaluated on the same ones. */
  readonly flags?: RiskFlags;
  readonly approval?: { readonly group: string; readonly separation_of_duties: boolean };
  /** For a deny: a reason code a person can act on, and a sentence. */
  readonly reason?: ReasonCode;
  readonly message?: string;
}

/**
 * A policy version compiled from its files and schema, ready to decide: its engine, or (a set that
 * does not split or compile) why not, in which case every decision under it is a deny. `id` keys
 * Cedar's cache of parsed sets: the same id for other content replaces it.
 */
export function compileVersion(
  id: string,
  version: number,
  schema: string,
  files: readonly { readonly name: string; readonly text: string }[],
): DecidableVersion {
  const loaded = loadPolicyFiles(files.map(({ name, text }) => ({ name, text })));
  const compiled = loaded.ok ? compilePolicyEngine(id, schema, loaded.policies) : undefined;
  if (compiled?.ok === true) return { version, engine: compiled.engine };
  const errors = compiled?.ok === false ? compiled.errors : loaded.errors;
  return {
    version,
    error: `policy version ${version} does not load: ${errors.map((e) => e.message).join('; ')}`,
  };
}

/**
 * Decides one intent (DESIGN §2 step 3): unknown tool → deny; args validated against the tool's
 * schema (violations → rejected, before Cedar sees anything); risk derived; Cedar evaluated
 * against `version`, deny by default and failing closed. Never throws. The policy stage decides
 * live intents with it, and `warden replay` recorded ones, so a replay answers as the stage did.
 */
export function decideIntent(
  intent: IntentFacts,
  tool: DecidableTool | undefined,
  version: DecidableVersion,
  env: string,
  now: Date,
): Verdict {
  if (tool === undefined) {
    return denied(intent.args, version.version, {
      reason: 'unknown_tool',
      message: `no tool named ${intent.tool} is registered (warden tools list)`,
    });
  }
  const toolVersion = tool.declaration.version;
  const validation = tool.validate(intent.args);
  if (!validation.ok) {
    return {
      kind: 'rejected',
      toolVersion,
      message: `the args do not match ${intent.tool} v${toolVersion}: ${validation.violations.length} problem(s)`,
      details: validation.violations,
    };
  }
  const args = validation.value as Record<string, unknown>;
  const flags = deriveRisk(tool.declaration, args);
  const risk = riskOf(flags);
  return evaluateIntent(version, { ...intent, args }, tool, flags, risk, env, now);
}

/** Evaluates one validated intent against one version (the active one, or the shadow one). */
export function evaluateIntent(
  version: DecidableVersion,
  intent: IntentFacts,
  tool: DecidableTool,
  flags: RiskFlags,
  risk: Risk,
  env: string,
  now: Date,
): Verdict {
  const base = {
    toolVersion: tool.declaration.version,
    costMicroUsd: tool.declaration.cost.per_call_micro_usd,
    risk,
    flags,
  };
  if (version.engine === undefined) {
    return version.version === 0
      ? denied(intent.args, 0, {
          ...base,
          reason: 'no_policy',
          message:
            'no policy version is published: every intent is denied (warden policies publish)',
        })
      : denied(intent.args, version.version, {
          ...base,
          reason: 'policy_error',
          message: `policy version ${version.version} could not be loaded`,
          errors: [version.error ?? 'not loaded'],
        });
  }
  const answer = version.engine.decide({
    principal: intent.principal,
    tool: tool.declaration,
    args: intent.args,
    risk: flags,
    step: intent.step,
    env,
    now,
  });
  const outcome = {
    ...base,
    args: intent.args,
    policyIds: answer.determining,
    policyVersion: version.version,
    errors: answer.errors,
    evalUs: answer.evalUs ?? 0,
  };
  if (answer.effect === 'allow') return { kind: 'decided', effect: 'allow', ...outcome };
  if (answer.effect === 'approval_required' && answer.approval !== undefined) {
    return { kind: 'decided', effect: 'approval_required', approval: answer.approval, ...outcome };
  }
  return {
    kind: 'decided',
    effect: 'deny',
    ...outcome,
    ...denyReason(answer.determining, answer.errors),
  };
}

function denyReason(
  determining: readonly string[],
  errors: readonly string[],
): { reason: ReasonCode; message: string } {
  if (errors.length > 0) {
    return {
      reason: 'policy_error',
      message: `a policy could not be evaluated, so the intent is denied (fail closed): ${errors[0]}`,
    };
  }
  if (determining.length > 0) {
    return { reason: 'forbidden', message: `forbidden by policy ${determining.join(', ')}` };
  }
  return { reason: 'not_permitted', message: 'no policy permits this action (deny by default)' };
}

function denied(
  args: Record<string, unknown>,
  policyVersion: number,
  detail: {
    reason: ReasonCode;
    message: string;
    errors?: readonly string[];
    toolVersion?: number;
    costMicroUsd?: number;
    risk?: Risk;
  },
): Verdict {
  const { errors = [], ...rest } = detail;
  return {
    kind: 'decided',
    effect: 'deny',
    args,
    policyIds: [],
    policyVersion,
    errors,
    evalUs: 0,
    ...rest,
  };
}

/** The `policy.decided` event of a decision: what the stage publishes and a replay reads back. */
export function policyDecidedData(
  intent: { readonly tool: string; readonly step: number },
  verdict: PolicyOutcome,
): DataOf<'policy.decided'> {
  return {
    tool: intent.tool,
    args: verdict.args,
    step: intent.step,
    effect: verdict.effect,
    determining_policy_ids: [...verdict.policyIds],
    policy_version: verdict.policyVersion,
    errors: [...verdict.errors],
    eval_us: verdict.evalUs,
    ...(verdict.risk === undefined ? {} : { risk: verdict.risk }),
    ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
    ...(verdict.toolVersion === undefined ? {} : { tool_version: verdict.toolVersion }),
    ...(verdict.approval === undefined ? {} : { approval: verdict.approval }),
    ...(verdict.costMicroUsd === undefined ? {} : { cost_micro_usd: verdict.costMicroUsd }),
  };
}

/** The contract's form of derived risk: the standard flags, and the tool's own raised flags. */
export function riskOf(flags: RiskFlags): Risk {
  const standard = new Set<string>(['write', ...STANDARD_RISK_FLAGS]);
  const raised = Object.entries(flags)
    .filter(([flag, value]) => value && !standard.has(flag))
    .map(([flag]) => flag)
    .sort();
  return {
    write: flags.write,
    bulk: flags.bulk,
    pii: flags.pii,
    money: flags.money,
    permission: flags.permission,
    production: flags.production,
    ...(raised.length === 0 ? {} : { raised }),
  };
}
