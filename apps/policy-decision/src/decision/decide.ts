import type { Principal, Risk } from '@warden/contracts';

/** A snake_case reason code (`ReasonCode` of the contracts). */
type ReasonCode = string;
import { deriveRisk, STANDARD_RISK_FLAGS, type RiskFlags, type Violation } from '@warden/policy';
import type { LoadedVersion } from '../policies/policy-catalog.js';
import type { CatalogTool } from '../tools/tool-catalog.js';

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
 * Decides one intent (DESIGN §2 step 3): unknown tool → deny; args validated against the tool's
 * schema (violations → rejected, before Cedar sees anything); risk derived; Cedar evaluated
 * against `version`, deny by default and failing closed. Never throws.
 */
export function decide(
  intent: IntentFacts,
  tool: CatalogTool | undefined,
  version: LoadedVersion,
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
  return evaluate(version, { ...intent, args }, tool, flags, risk, env, now);
}

/** Evaluates one validated intent against one version (the active one, or the shadow one). */
export function evaluate(
  version: LoadedVersion,
  intent: IntentFacts,
  tool: CatalogTool,
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
