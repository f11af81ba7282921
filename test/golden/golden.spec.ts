import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLICIES_DIR } from '@warden/support-triage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  junitXml,
  renderReport,
  summarize,
  type EvalReport,
} from '../../apps/cli/src/eval/eval-report.js';
import { evaluateSuite } from '../../apps/cli/src/eval/run-eval.js';
import { loadSuite, type Suite } from '../../apps/cli/src/eval/suite.js';

/*
 * The release gate of issue 9 (item 3): `npm test` evaluates the golden suites' intent cases
 * through the code `warden eval` runs (in-process, with the policy stage's own decideIntent), so a
 * policy change that breaks one fails CI. Run cases need a whole stack: `warden eval` plays them
 * (test/golden/README.md); here they are reported as skipped.
 */

const SUITE = join(import.meta.dirname, 'support-triage.yaml');

let suite: Suite;
let dir: string;

beforeAll(async () => {
  suite = await loadSuite(SUITE);
  dir = await mkdtemp(join(tmpdir(), 'warden-golden-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evaluate(policies?: string[]): Promise<EvalReport> {
  return summarize([
    await evaluateSuite(suite, {
      env: 'golden',
      ...(policies === undefined ? {} : { policies }),
      skipRuns: 'needs a stack: `warden eval test/golden/support-triage.yaml`',
    }),
  ]);
}

/** A copy of the reference policies in which `edit` changed one file. */
async function weakened(name: string, file: string, edit: (text: string) => string) {
  const copy = join(dir, name);
  await cp(POLICIES_DIR, copy, { recursive: true });
  const path = join(copy, file);
  const text = await readFile(path, 'utf8');
  const changed = edit(text);
  expect(changed, `the edit of ${file} changed nothing`).not.toBe(text);
  await writeFile(path, changed);
  return { copy, restore: () => writeFile(path, text) };
}

describe('golden suite: support-triage', () => {
  it('holds for the reference policies', async () => {
    const report = await evaluate();
    expect(report.failed, renderReport(report)).toBe(0);
    const intents = suite.cases.filter((entry) => entry.kind === 'intent').length;
    expect(intents).toBeGreaterThanOrEqual(15);
    expect(report.passed).toBe(intents);
    expect(report.skipped).toBe(suite.cases.length - intents);
  });

  it('fails, with a readable report, when small-bulk-close loses its bulk guard; passes restored', async () => {
    const { copy, restore } = await weakened('no-bulk-guard', 'updates.cedar', (text) =>
      text.replace(/\)\s*unless \{ context\.risk\.bulk \};/, ');'),
    );
    const broken = await evaluate([copy]);
    expect(broken.ok).toBe(false);
    const failures = broken.suites[0]?.cases.filter((one) => one.status === 'failed') ?? [];
    expect(failures.map((one) => one.name)).toEqual([
      'a bulk close of eleven waits for support-leads',
    ]);
    const text = renderReport(broken);
    expect(text).toContain(
      'FAILED support-triage › a bulk close of eleven waits for support-leads',
    );
    expect(text).toContain(
      'expected: approval_required by support-leads (bulk-close-needs-support-leads)',
    );
    expect(text).toContain('actual:   allow (bulk-close-needs-support-leads, small-bulk-close)');
    expect(text).toContain('effect: expected approval_required, got allow');
    expect(text).toMatch(/^FAIL: \d+ case\(s\), \d+ passed, 1 failed/m);
    const xml = junitXml(broken);
    expect(xml).toContain('failures="1"');
    expect(xml).toContain(
      '<failure message="expected approval_required by support-leads (bulk-close-needs-support-leads), got allow (bulk-close-needs-support-leads, small-bulk-close) [policies: bulk-close-needs-support-leads, small-bulk-close]"',
    );

    await restore();
    const restored = await evaluate([copy]);
    expect(restored.failed, renderReport(restored)).toBe(0);
  });

  it('fails when no-payroll is dropped, naming the policy it expected; passes restored', async () => {
    const { copy, restore } = await weakened('no-payroll-dropped', 'forbidden.cedar', (text) =>
      text.replace(/@id\("no-payroll"\)\s*forbid \([^;]*\);/, ''),
    );
    const broken = await evaluate([copy]);
    const failures = broken.suites[0]?.cases.filter((one) => one.status === 'failed') ?? [];
    expect(failures.map((one) => one.name).sort()).toEqual([
      'payroll is forbidden',
      'payroll is forbidden to an agent working in finance too',
    ]);
    const text = renderReport(broken);
    expect(text).toContain('expected: deny forbidden (no-payroll)');
    expect(text).toContain('actual:   deny not_permitted (no policy)');
    expect(text).toContain('policy_ids: expected [no-payroll], got []');

    await restore();
    expect((await evaluate([copy])).ok).toBe(true);
  });
});
