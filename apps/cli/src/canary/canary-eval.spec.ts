import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { POLICIES_DIR } from '@warden/support-triage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSources, type DecisionSources } from '../eval/intent-cases.js';
import { CliError } from '../output.js';
import { loadSuites, type Suite } from '../eval/suite.js';
import { evaluateCanarySuites } from './canary-eval.js';
import type { CanaryInfo } from './canary-report.js';

/*
 * `canary report --suite` with sources built locally (the reference policies for the baseline, a
 * copy whose bulk close needs no lead for the canary); the report fetches the same from the
 * policy decision service (`policy-show`, `tool-list`).
 */

const GOLDEN = resolve(import.meta.dirname, '../../../../test/golden/support-triage.yaml');

const canary: CanaryInfo = {
  canary_id: '01JD4K6Z8V3M2T9Q7W5XC0000A',
  workflow: 'support-triage',
  version: 'v2',
  percent: 10,
  policy_version: 7,
  started_at: '2026-11-02T09:00:00.000000Z',
  started_by: 'human:alice',
  status: 'in_force',
};

/** Local files as if they were stored policy version `version` of a stack. */
function asStored(local: DecisionSources, version: number, describe: string): DecisionSources {
  return { ...local, describe, version: { ...local.version, version } };
}

let dir: string;
let suites: Suite[];
let reference: DecisionSources;
let weakened: DecisionSources;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-canary-eval-'));
  suites = await loadSuites([GOLDEN]);
  reference = asStored(
    await localSources({ policies: undefined, tools: undefined }),
    6,
    'version 6 (active)',
  );
  const looser = join(dir, 'policies');
  await cp(POLICIES_DIR, looser, { recursive: true });
  const updates = await readFile(join(looser, 'updates.cedar'), 'utf8');
  await writeFile(
    join(looser, 'updates.cedar'),
    updates.replace('unless { context.risk.bulk };', ';'),
  );
  weakened = asStored(
    await localSources({ policies: [looser], tools: undefined }),
    7,
    "version 7 (the canary's)",
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluateCanarySuites', () => {
  it("decides the golden intent cases under each arm's policy", () => {
    const result = evaluateCanarySuites(
      suites,
      canary,
      { baseline: reference, canary: weakened },
      'dev',
    );
    expect(result.same_policy).toBe(false);
    expect(result.baseline).toMatchObject({
      policy_version: 6,
      decided_with: 'version 6 (active)',
      failed: 0,
      failures: [],
    });
    expect(result.baseline.cases).toBe(result.baseline.passed);
    expect(result.canary.policy_version).toBe(7);
    expect(result.canary.cases).toBe(result.baseline.cases);
    expect(result.canary.failures).toContainEqual(
      expect.objectContaining({
        suite: 'support-triage',
        case: 'a bulk close of eleven waits for support-leads',
        expected: expect.stringMatching(/^approval_required/) as unknown,
      }),
    );
    expect(result.notes).toEqual([
      expect.stringMatching(/^7 run cases are not played here: `warden eval <suite>` plays them$/),
    ]);
  });

  it('decides both arms alike when the canary has no policy version, and says so', () => {
    const { policy_version: _none, ...plain } = canary;
    const result = evaluateCanarySuites(suites, plain, { baseline: reference }, 'dev');
    expect(result.same_policy).toBe(true);
    expect(result.canary).toEqual(result.baseline);
    expect(result.notes[0]).toBe(
      `canary ${canary.canary_id} has no policy version of its own: both arms are decided under version 6 (active), so their results are the same`,
    );
  });

  it('refuses a malformed suite before anything else, as `warden eval` does', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'name: bad\ncases: []\n');
    const error = await loadSuites([GOLDEN, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: 2, message: expect.stringContaining(bad) as unknown });
  });
});
