import { printTable } from '../output.js';

/** How one case ended. */
export type CaseStatus = 'passed' | 'failed' | 'skipped';

/** One case's outcome: what was expected, what happened, and the policies involved. */
export interface CaseOutcome {
  readonly name: string;
  readonly kind: 'intent' | 'run';
  readonly status: CaseStatus;
  /** The expectation in words: `deny forbidden (no-payroll)`. */
  readonly expected: string;
  /** What happened in the same words. */
  readonly actual: string;
  /** The policies involved: expected and determining, sorted. */
  readonly policyIds: readonly string[];
  /** Each way the outcome differs from the expectation (empty when it passed). */
  readonly mismatches: readonly string[];
  /** More about what happened: the stage's message, the run, why a case was skipped. */
  readonly detail?: string;
  readonly durationMs: number;
}

/** One suite file's outcomes. */
export interface SuiteReport {
  readonly file: string;
  readonly name: string;
  /** Where its intent cases' policies and tools came from, in words. */
  readonly decidedWith: string;
  /** Where its run cases ran, in words (when it has any that ran). */
  readonly ranOn?: string;
  /** Problems with its sources (policies that do not validate): every decision is a deny then. */
  readonly notes: readonly string[];
  readonly cases: readonly CaseOutcome[];
  readonly durationMs: number;
}

/** What `warden eval` found over every suite: `--json` prints it. */
export interface EvalReport {
  readonly ok: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly suites: readonly SuiteReport[];
}

/** The totals over suites. */
export function summarize(suites: readonly SuiteReport[]): EvalReport {
  const all = suites.flatMap((suite) => suite.cases);
  const count = (status: CaseStatus) => all.filter((one) => one.status === status).length;
  const failed = count('failed');
  return { ok: failed === 0, passed: count('passed'), failed, skipped: count('skipped'), suites };
}

/** `12 cases: 11 passed, 1 failed, 0 skipped (2 suites, 0.4 s)`. */
export function summaryLine(report: EvalReport): string {
  const cases = report.passed + report.failed + report.skipped;
  const seconds = report.suites.reduce((sum, suite) => sum + suite.durationMs, 0) / 1000;
  const verdict = report.ok ? 'PASS' : 'FAIL';
  return `${verdict}: ${cases} case(s), ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped (${report.suites.length} suite(s), ${seconds.toFixed(1)} s)`;
}

/**
 * The readable report: per suite a table of its cases, then each failure spelled out (case,
 * expected, actual, policies, what differs), then the summary line.
 */
export function renderReport(report: EvalReport): string {
  const lines: string[] = [];
  for (const suite of report.suites) {
    lines.push(`${suite.name} (${suite.file})`, `  intents decided with ${suite.decidedWith}`);
    if (suite.ranOn !== undefined) lines.push(`  runs played on ${suite.ranOn}`);
    lines.push(...suite.notes.map((note) => `  ! ${note}`));
  }
  for (const suite of report.suites) {
    for (const failure of suite.cases.filter((one) => one.status === 'failed')) {
      lines.push(
        '',
        `FAILED ${suite.name} › ${failure.name}`,
        `  expected: ${failure.expected}`,
        `  actual:   ${failure.actual}`,
        ...(failure.policyIds.length === 0 ? [] : [`  policies: ${failure.policyIds.join(', ')}`]),
        ...failure.mismatches.map((mismatch) => `  - ${mismatch}`),
        ...(failure.detail === undefined ? [] : [`  ${failure.detail}`]),
      );
    }
  }
  lines.push('', summaryLine(report), '');
  return lines.join('\n');
}

/** Prints the table of every case, then {@link renderReport}. */
export function printReport(report: EvalReport): void {
  printTable(
    ['suite', 'case', 'result', 'expected', 'actual'],
    report.suites.flatMap((suite) =>
      suite.cases.map((one) => ({
        suite: suite.name,
        case: one.name,
        result: one.status === 'failed' ? 'FAIL' : one.status === 'passed' ? 'ok' : 'skipped',
        expected: one.expected,
        actual: one.status === 'skipped' ? (one.detail ?? '') : one.actual,
      })),
    ),
  );
  process.stdout.write(renderReport(report));
}

/**
 * JUnit XML, as CI servers read it: one `<testsuite>` per suite file, one `<testcase>` per case,
 * a `<failure>` whose message is expected vs actual and whose text names the policies.
 */
export function junitXml(report: EvalReport): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = report.passed + report.failed + report.skipped;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const allMs = report.suites.reduce((sum, suite) => sum + suite.durationMs, 0);
  out.push(
    `<testsuites name="warden eval" tests="${total}" failures="${report.failed}" skipped="${report.skipped}" time="${seconds(allMs)}">`,
  );
  for (const suite of report.suites) {
    const failed = suite.cases.filter((one) => one.status === 'failed').length;
    const skipped = suite.cases.filter((one) => one.status === 'skipped').length;
    out.push(
      `  <testsuite name="${xml(suite.name)}" file="${xml(suite.file)}" tests="${suite.cases.length}" failures="${failed}" errors="0" skipped="${skipped}" time="${seconds(suite.durationMs)}">`,
    );
    for (const one of suite.cases) {
      const open = `    <testcase classname="${xml(suite.name)}.${one.kind}" name="${xml(one.name)}" time="${seconds(one.durationMs)}"`;
      if (one.status === 'passed') {
        out.push(`${open}/>`);
      } else if (one.status === 'skipped') {
        out.push(
          `${open}>`,
          `      <skipped message="${xml(one.detail ?? 'skipped')}"/>`,
          '    </testcase>',
        );
      } else {
        const body = [
          `expected: ${one.expected}`,
          `actual:   ${one.actual}`,
          `policies: ${one.policyIds.join(', ') || '(none)'}`,
          ...one.mismatches.map((mismatch) => `- ${mismatch}`),
          ...(one.detail === undefined ? [] : [one.detail]),
        ].join('\n');
        out.push(
          `${open}>`,
          `      <failure message="${xml(failureMessage(one))}" type="eval">${xml(body)}</failure>`,
          '    </testcase>',
        );
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** A failure in one line: expected vs actual, and the policies involved. */
function failureMessage(one: CaseOutcome): string {
  const policies = one.policyIds.length === 0 ? '' : ` [policies: ${one.policyIds.join(', ')}]`;
  return `expected ${one.expected}, got ${one.actual}${policies}`;
}

/** Text escaped for XML attributes and content; characters XML 1.0 cannot hold are dropped. */
function xml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}
