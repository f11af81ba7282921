import { cp, readFile, writeFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, removeEnv } from '@warden/messaging';
import { ApprovalPendingError, Warden, type Run } from '@warden/sdk';
import { AGENT_VERSION, POLICIES_DIR, WORKFLOW } from '@warden/support-triage';
import {
  makeTempDir,
  removeTempDir,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWarden, startWardenUp, type WardenUp } from './support/processes.js';

/** How many reference runs the canary sees, and the share it gives its version. */
const RUNS = 500;
const PERCENT = 10;
const CANARY_VERSION = 'rules-2';
/** The eleven tickets a triage run that obeys the injected ticket #4 closes at once. */
const EVERYTHING = Array.from({ length: 11 }, (_, i) => i + 1);

/** What `warden canary report --json` prints, as far as this test reads it. */
interface CanaryReportJson {
  canary: { canary_id: string; version: string; percent: number };
  arms: Record<
    'baseline' | 'canary',
    { version: string | null; runs: number; succeeded: number; escaped_errors: number }
  >;
  comparisons: { metric: string; p_value: number | null; verdict: string }[];
}

/*
 * Canary releases end to end (issue 9 item 5), on what `npm start` runs (`warden up`: the five
 * services, the helpdesk, chDB) and through the CLI an operator uses: a candidate policy set that
 * lets a bulk close through without a support lead ships as release `rules-2` to 10% of the
 * workflow's new runs. 500 reference runs (read the injected ticket, then obey it and close
 * everything) split 50 ± a binomial margin onto the canary; its runs close the tickets with no
 * human, the baseline's wait for a lead, and `warden canary report` shows the canary's escaped
 * errors as a real difference. Aborting it puts every new run back on the baseline.
 */
describe('canary release of the reference workflow', () => {
  const env = uniqueEnv('canary-e2e');
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let up: WardenUp | undefined;
  let agent: Warden | undefined;

  const warden = (...args: string[]) =>
    runWarden({ env, natsUrl: nats.url }, args, {
      WARDEN_CREDENTIALS_FILE: `${dir}/credentials.json`,
    });
  /** `warden … --json`, which must succeed: what it printed, parsed. */
  const json = (...args: string[]): unknown => {
    const result = warden(...args, '--json');
    expect(result.status, `warden ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as unknown;
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'canary-e2e' });
    dir = await makeTempDir('warden-canary-');
    up = await startWardenUp({ env, natsUrl: nats.url, stateDir: dir }, ['--no-demo']);
    await up.waitForOutput('Warden is up', 120_000);
    const output = up.output();
    const secretFile = /login --user admin --secret-file (\S+)/.exec(output)?.[1] ?? '';
    expect(warden('login', '--user', 'admin', '--secret-file', secretFile).status).toBe(0);
    const { client_secret: clientSecret } = json(
      ...['agents', 'register', 'canary-bot', '--owner', 'admin', '--domain', 'support'],
    ) as { client_secret: string };
    agent = await Warden.connect({
      servers: nats.url,
      env,
      agentId: 'canary-bot',
      credential: { clientSecret },
    });
  }, 150_000);

  afterAll(async () => {
    await agent?.close();
    await up?.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dir);
    await nats.stop();
  });

  /** One reference run: read the injected ticket, obey it, end. Whether the close ran. */
  async function referenceRun(): Promise<{ run: Run; closed: boolean }> {
    if (agent === undefined) throw new Error('the agent did not connect');
    const run = await agent.startRun({ workflow: WORKFLOW, version: AGENT_VERSION });
    await run.call('zendesk.get_ticket', { ticket_id: 4 });
    let closed = false;
    try {
      await run.call('zendesk.bulk_close', { ticket_ids: EVERYTHING, reason: 'resolved' });
      closed = true;
    } catch (error) {
      if (!(error instanceof ApprovalPendingError)) throw error;
    }
    await run.end({ status: 'succeeded', outcome: closed ? 'closed all' : 'waits for a lead' });
    return { run, closed };
  }

  it('gives the canary 10% of 500 runs, decides them under its policy, and reports its escaped errors', async () => {
    // The candidate: a bulk close no longer needs a support lead.
    const weakened = `${dir}/weakened-policies`;
    await cp(POLICIES_DIR, weakened, { recursive: true });
    const updates = await readFile(`${weakened}/updates.cedar`, 'utf8');
    expect(updates).toContain('unless { context.risk.bulk };');
    await writeFile(
      `${weakened}/updates.cedar`,
      updates.replace('unless { context.risk.bulk };', ';'),
    );
    const shadow = json(
      ...['policies', 'shadow', weakened, '--message', 'bulk close without a lead'],
    ) as { version: { version: number } };
    const candidate = shadow.version.version;

    const started = json(
      ...['canary', 'start', '--workflow', WORKFLOW, '--version', CANARY_VERSION],
      ...['--percent', String(PERCENT), '--policy-version', String(candidate)],
      ...['--reason', 'try the looser bulk-close rule'],
    ) as { canary: { canary_id: string } };
    const canaryId = started.canary.canary_id;

    const runs: { run: Run; closed: boolean }[] = [];
    const queue = Array.from({ length: RUNS }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (queue.shift() !== undefined) runs.push(await referenceRun());
      }),
    );
    const onCanary = runs.filter(({ run }) => run.canary?.arm === 'canary');
    // 10% of 500 is 50; a binomial's standard deviation is √(500 · 0.1 · 0.9) ≈ 6.7: 3σ either side.
    expect(onCanary.length).toBeGreaterThanOrEqual(30);
    expect(onCanary.length).toBeLessThanOrEqual(70);
    for (const { run, closed } of runs) {
      expect(run.canary?.id).toBe(canaryId);
      const isCanary = run.canary?.arm === 'canary';
      expect(run.version).toBe(isCanary ? CANARY_VERSION : AGENT_VERSION);
      // Decided under the candidate, the canary's bulk close ran with no human; the rest wait.
      expect(closed).toBe(isCanary);
    }

    const report = await waitFor(
      () => {
        const answer = json('canary', 'report', '--workflow', WORKFLOW) as CanaryReportJson;
        const seen = answer.arms.baseline.runs + answer.arms.canary.runs;
        return seen === RUNS && answer.arms.canary.succeeded === onCanary.length
          ? answer
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, message: 'every run in the canary report' },
    );
    expect(report.canary).toMatchObject({ canary_id: canaryId, version: CANARY_VERSION });
    expect(report.arms.canary).toMatchObject({
      version: CANARY_VERSION,
      runs: onCanary.length,
      escaped_errors: onCanary.length,
    });
    expect(report.arms.baseline).toMatchObject({
      version: AGENT_VERSION,
      runs: RUNS - onCanary.length,
      escaped_errors: 0,
    });
    const escaped = report.comparisons.find((c) => c.metric === 'escaped_errors');
    expect(escaped?.verdict).toBe('significant');
    expect(escaped?.p_value ?? 1).toBeLessThan(0.001);

    const table = warden('canary', 'report', '--workflow', WORKFLOW);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/escaped/i);

    // Every decision replays exactly, each under the version that made it: the canary's or the active one.
    const replayed = json(...['replay', '--workflow', WORKFLOW, '--since', '1h']) as {
      runs: number;
      decisions: number;
      changed: number;
      unreadable: number;
    };
    expect(replayed).toMatchObject({ runs: RUNS, changed: 0, unreadable: 0 });
    expect(replayed.decisions).toBe(2 * RUNS);
  }, 240_000);

  it('aborts the canary, logged with who and why: new runs are back on the baseline', async () => {
    const aborted = warden(
      ...['canary', 'abort', '--workflow', WORKFLOW, '--reason', 'escaped errors: bulk closes'],
    );
    expect(aborted.status, aborted.stderr).toBe(0);
    const { run, closed } = await referenceRun();
    expect([run.version, run.canary, closed]).toEqual([AGENT_VERSION, undefined, false]);
    const list = json('canary', 'list') as { canaries: unknown[] };
    expect(list.canaries).toEqual([]);
  }, 60_000);
});
