import { evaluateIntentCase, type DecisionSources } from '../eval/intent-cases.js';
import type { Suite } from '../eval/suite.js';
import type { ArmEval, ArmName, CanaryEval, CanaryInfo } from './canary-report.js';

/*
 * `warden canary report --suite`: the suites' intent cases decided under each arm's policy — the
 * baseline's under the active version, the canary's under its own policy version — with the
 * tools the stack has registered, by the policy stage's own function (eval/intent-cases.ts).
 * Run cases are not played here: `warden eval` plays them on a stack of its own.
 */

/** Decides every intent case of `suites` with one arm's sources. */
export function evaluateArm(
  suites: readonly Suite[],
  sources: DecisionSources,
  env: string,
): ArmEval {
  let cases = 0;
  let passed = 0;
  const failures: ArmEval['failures'][number][] = [];
  for (const suite of suites) {
    for (const entry of suite.cases) {
      if (entry.kind !== 'intent') continue;
      cases += 1;
      const outcome = evaluateIntentCase(entry, sources, env);
      if (outcome.status === 'passed') passed += 1;
      else {
        failures.push({
          suite: suite.name,
          case: entry.name,
          expected: outcome.expected,
          actual: outcome.actual,
        });
      }
    }
  }
  return {
    policy_version: sources.version.version,
    decided_with: sources.describe,
    cases,
    passed,
    failed: failures.length,
    failures,
  };
}

/**
 * Both arms' eval. Without a policy version of its own the canary is decided as the baseline:
 * one evaluation serves both, and a note says so.
 */
export function evaluateCanarySuites(
  suites: readonly Suite[],
  canary: CanaryInfo,
  sources: { readonly baseline: DecisionSources; readonly canary?: DecisionSources },
  env: string,
): CanaryEval {
  const baseline = evaluateArm(suites, sources.baseline, env);
  const arms: Record<ArmName, ArmEval> = {
    baseline,
    canary: sources.canary === undefined ? baseline : evaluateArm(suites, sources.canary, env),
  };
  const notes: string[] = [];
  if (sources.canary === undefined) {
    notes.push(
      `canary ${canary.canary_id} has no policy version of its own: both arms are decided under ${sources.baseline.describe}, so their results are the same`,
    );
  }
  if (canary.status !== 'in_force') {
    notes.push(
      `the canary was ${canary.status}: the baseline is decided under today's active version, which may not be the one its runs had`,
    );
  }
  const named = suites.filter((s) => s.policies !== undefined || s.tools !== undefined);
  if (named.length > 0) {
    notes.push(
      `${named.map((s) => s.file).join(', ')} name${named.length === 1 ? 's' : ''} policies or tools of their own: each arm's policy version and the registered tools are used instead`,
    );
  }
  const runs = suites.flatMap((s) => s.cases).filter((c) => c.kind === 'run').length;
  if (runs > 0) {
    notes.push(
      `${runs} run case${runs === 1 ? ' is' : 's are'} not played here: \`warden eval <suite>\` plays them`,
    );
  }
  return {
    suites: suites.map((s) => s.file),
    same_policy: sources.canary === undefined,
    ...arms,
    notes,
  };
}
