import type { CaseOutcome, SuiteReport } from './eval-report.js';
import { evaluateIntentCase, localSources, type DecisionSources } from './intent-cases.js';
import { evaluateRunCase, type RunTarget } from './run-cases.js';
import type { Suite } from './suite.js';

/** What a suite is evaluated against: `warden eval`'s flags, or a test's choice. */
export interface EvalContext {
  /** The env intents are decided in (`context.env`) unless a case names one. */
  readonly env: string;
  /** Policy files to decide with instead of each suite's own (a candidate set to try). */
  readonly policies?: readonly string[];
  readonly schema?: string;
  /** A running stack's active policies and tools: used by suites that name neither. */
  readonly stackSources?: DecisionSources;
  /** Where run cases play; without one they are skipped, for `skipRuns`. */
  readonly runTarget?: RunTarget;
  readonly skipRuns?: string;
}

/**
 * Evaluates one suite's cases in order: intents decided in-process (the policy stage's own
 * function), runs played on `context.runTarget`. A case never throws: a run that could not be
 * played is a failed case saying why.
 */
export async function evaluateSuite(suite: Suite, context: EvalContext): Promise<SuiteReport> {
  const started = performance.now();
  const hasIntents = suite.cases.some((entry) => entry.kind === 'intent');
  const named = context.policies ?? suite.policies;
  let sources: DecisionSources | undefined;
  const notes: string[] = [];
  if (hasIntents) {
    if (named === undefined && suite.tools === undefined && context.stackSources !== undefined) {
      sources = context.stackSources;
    } else {
      const local = await localSources({
        policies: named,
        ...(context.schema === undefined && suite.schema === undefined
          ? {}
          : { schema: context.schema ?? suite.schema }),
        tools: suite.tools,
      });
      sources = local;
      notes.push(...local.problems.map((problem) => `policies: ${problem}`));
    }
  }
  const cases: CaseOutcome[] = [];
  for (const entry of suite.cases) {
    if (entry.kind === 'intent') {
      if (sources !== undefined) cases.push(evaluateIntentCase(entry, sources, context.env));
      continue;
    }
    if (context.runTarget === undefined) {
      cases.push(skipped(entry.name, context.skipRuns ?? 'no stack to play runs on'));
      continue;
    }
    const began = performance.now();
    cases.push(
      await evaluateRunCase(entry, context.runTarget).catch((error: unknown): CaseOutcome => ({
        name: entry.name,
        kind: 'run',
        status: 'failed',
        expected: `scenario ${entry.run.scenario} played to its end`,
        actual: `it could not be played: ${error instanceof Error ? error.message : String(error)}`,
        policyIds: [],
        mismatches: [],
        durationMs: performance.now() - began,
      })),
    );
  }
  return {
    file: suite.file,
    name: suite.name,
    decidedWith: sources?.describe ?? '(no intent cases)',
    ...(context.runTarget === undefined ? {} : { ranOn: context.runTarget.describe }),
    notes,
    cases,
    durationMs: performance.now() - started,
  };
}

function skipped(name: string, why: string): CaseOutcome {
  return {
    name,
    kind: 'run',
    status: 'skipped',
    expected: '',
    actual: '',
    policyIds: [],
    mismatches: [],
    detail: why,
    durationMs: 0,
  };
}
