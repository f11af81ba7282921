import { spawnSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import {
  childPids,
  makeTempDir,
  removeTempDir,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { RejectedError, Warden } from '@warden/sdk';
import { POLICIES_DIR } from '@warden/support-triage';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMain, runWarden, startWardenUp, type WardenUp } from './support/processes.js';

/** What `warden replay --workflow … --json` prints, as far as these tests read it. */
interface ReplaySummaryJson {
  runs: number;
  decisions: number;
  changed: number;
  unreadable: number;
  changes: { change: string; tool: string }[];
  reports: {
    run_id: string;
    changed: number;
    steps: { intentId: string; changed: boolean; recorded: { effect: string } }[];
  }[];
}

/** `warden up` as a newcomer runs it, and `warden audit` against it. */
describe('warden CLI', () => {
  const env = uniqueEnv('cli');
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let up: WardenUp;
  let upOutput = '';

  /** `warden up` as `npm start` runs it (the triage agent's scenarios unless `--no-demo`). */
  const startUp = (...flags: string[]): Promise<WardenUp> =>
    startWardenUp({ env, natsUrl: nats.url, stateDir: dir }, flags);

  const warden = (...args: string[]) =>
    runWarden({ env, natsUrl: nats.url }, args, {
      // `warden login` stores its token here, not in the home directory of whoever runs the tests.
      WARDEN_CREDENTIALS_FILE: `${dir}/credentials.json`,
    });

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'cli-e2e' });
    dir = await makeTempDir('warden-cli-');
    up = await startUp();
    await up.waitForOutput('Warden keeps serving', 120_000);
    upOutput = up.output();
  }, 150_000);

  afterAll(async () => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dir);
    await nats.stop();
  });

  it('starts the services and the helpdesk, registers the workflow, and reports the agent', () => {
    for (const service of [
      'trace-collector',
      'identity-broker',
      'policy-decision',
      'cost-governor',
      'tool-executor',
    ]) {
      expect(upOutput).toMatch(new RegExp(`${service} ready on http://127\\.0\\.0\\.1:\\d+`));
    }
    expect(upOutput).toMatch(/Reference helpdesk on http:\/\/127\.0\.0\.1:\d+/);
    expect(upOutput).toMatch(/tools: 10 registered \(10 new\)/);
    expect(upOutput).toMatch(/policies: published version 1/);
    expect(upOutput).toMatch(/The support-triage agent "triage-1" ran 7 scenarios/);
    expect(upOutput).not.toMatch(/NO \(expected/);
    expect(upOutput).toMatch(/payroll\.run .*forbidden .*no-payroll/);
    expect(upOutput).toMatch(/Waiting for a support lead/);
    expect(upOutput).toMatch(/approvals approve <approval_id>/);
    expect(upOutput).toMatch(/Total cost: \$0\.\d+/);
  });

  it('runs chosen scenarios again against the running stack, with --json for scripts', () => {
    const result = warden(
      'demo',
      '--state',
      dir,
      '--scenario',
      'payroll',
      'runaway-loop',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      results: { name: string; ok: boolean; runId: string }[];
    };
    expect(report.results.map((one) => [one.name, one.ok])).toEqual([
      ['payroll', true],
      ['runaway-loop', true],
    ]);
    const unknown = warden('demo', '--state', dir, '--scenario', 'nope');
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/Allowed choices are triage, payroll/);
  });

  it('prints how to log in as the bootstrap admin, and that works', () => {
    const hint = /Admin: npm run warden -- login --user admin --secret-file (\S+)/.exec(upOutput);
    expect(hint).not.toBeNull();
    const login = warden('login', '--user', 'admin', '--secret-file', hint?.[1] ?? '');
    expect(login.status, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Logged in as admin/);
  });

  it('replays every recorded run exactly, and names only the steps a weakened policy set changes', async () => {
    const own = warden('replay', '--workflow', 'support-triage', '--since', '1h', '--json');
    expect(own.status, own.stdout + own.stderr).toBe(0);
    const exact = JSON.parse(own.stdout) as ReplaySummaryJson;
    // The seven scenarios and the two played again, every decision as it was made.
    expect(exact.runs).toBeGreaterThanOrEqual(9);
    expect(exact.decisions).toBeGreaterThan(20);
    expect([exact.changed, exact.unreadable]).toEqual([0, 0]);
    const heldForLeads = exact.reports.flatMap((report) =>
      report.steps
        .filter((step) => step.recorded.effect === 'approval_required')
        .map((step) => step.intentId),
    );
    // The bulk close of the inactive tickets, and the prompt injection's close of everything.
    expect(heldForLeads.length).toBeGreaterThanOrEqual(2);

    // Bulk close allowed outright: no support lead's approval.
    const weakened = `${dir}/weakened-policies`;
    await cp(POLICIES_DIR, weakened, { recursive: true });
    const updates = await readFile(`${weakened}/updates.cedar`, 'utf8');
    await writeFile(
      `${weakened}/updates.cedar`,
      updates.replace('unless { context.risk.bulk };', ';'),
    );
    const tried = warden(
      'replay',
      '--workflow',
      'support-triage',
      '--since',
      '1h',
      '--policies',
      weakened,
      '--json',
    );
    expect(tried.status, tried.stderr).toBe(1);
    const summary = JSON.parse(tried.stdout) as ReplaySummaryJson;
    expect(summary.changes.map(({ change, tool }) => [change, tool])).toEqual([
      ['approval_required → allow', 'zendesk.bulk_close'],
    ]);
    const changed = summary.reports.flatMap((report) =>
      report.steps.filter((step) => step.changed).map((step) => step.intentId),
    );
    expect(changed.sort()).toEqual(heldForLeads.sort());

    const example = summary.reports.find((report) => report.changed > 0)?.run_id ?? '';
    const readable = warden('replay', example, '--policies', weakened);
    expect(readable.status).toBe(1);
    expect(readable.stdout).toMatch(/replayed against the policy files/);
    expect(readable.stdout).toMatch(
      /approval_required → allow at step \d+ \(zendesk\.bulk_close\)/,
    );
  }, 120_000);

  it('registers an agent, shows it, and suspends it: its next call is rejected at identity', async () => {
    const refused = warden('agents', 'register', 'Bad.Id', '--owner', 'admin', '--domain', 'x');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/must be 1-64 characters/);

    const registered = warden(
      'agents',
      'register',
      'cli-bot',
      '--owner',
      'admin',
      '--domain',
      'support',
      '--json',
    );
    expect(registered.status, registered.stderr).toBe(0);
    const { client_secret: clientSecret } = JSON.parse(registered.stdout) as {
      client_secret: string;
    };
    expect(clientSecret).toMatch(/^wsec_/);

    const agent = await Warden.connect({
      servers: nats.url,
      env,
      agentId: 'cli-bot',
      credential: { clientSecret },
    });
    try {
      const run = await agent.startRun({});
      await expect(run.call('echo', { n: 1 })).resolves.toMatchObject({ status: 'executed' });

      const suspended = warden('agents', 'suspend', 'cli-bot', '--reason', 'e2e');
      expect(suspended.status, suspended.stderr).toBe(0);
      const list = warden('agents', 'list');
      expect(list.stdout).toMatch(/cli-bot.*suspended/);

      const error: unknown = await run.call('echo', { n: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RejectedError);
      expect(error).toMatchObject({ stage: 'identity', reason: 'agent_suspended' });
    } finally {
      await agent.close();
    }
  });

  it('answers a read with a table, and --json for scripts', async () => {
    const publisher = new EventPublisher(nc, {
      env,
      producer: { service: 'e2e', instance: 'cli', version: '0' },
    });
    const id = ulid();
    await publisher.publish(
      publisher.build({
        type: 'run.started',
        eventId: id,
        runId: 'run-cli',
        agentId: 'cli-agent',
        data: { workflow: 'support-triage' },
      }),
    );
    const count = () =>
      warden(
        'audit',
        'sql',
        'SELECT count() AS n FROM events WHERE run_id = {run:String}',
        '--param',
        'run=run-cli',
        '--json',
      );
    await waitFor(
      () => Number((JSON.parse(count().stdout) as { rows: { n: string }[] }).rows[0]?.n) === 1,
      { timeoutMs: 30_000 },
    );

    const table = warden('audit', 'timeline', 'run-cli');
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('run.started');
    expect(table.stdout).toContain('┌');
  });

  it('refuses anything but a read, with a clear message', () => {
    const result = warden('audit', 'sql', 'DROP TABLE events');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Only reads are allowed/);
    expect(result.stderr).toMatch(/append-only/);
    const stillThere = warden('audit', 'sql', 'SELECT count() AS n FROM events', '--json');
    expect(stillThere.status).toBe(0);
  });

  it('says which service to start when none answers', () => {
    const result = spawnSync(
      process.execPath,
      [appMain('cli'), 'audit', 'sql', 'SELECT 1', '--env', 'nobody-home', '--nats', nats.url],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no trace collector is running for env "nobody-home"');
  });

  it('stops gracefully on Ctrl-C', async () => {
    await up.stop();
    expect(up.child.exitCode).toBe(0);
    expect(up.output()).toContain('Stopped');
  });

  it('starts again on the same state without registering anything twice', async () => {
    const again = await startUp('--no-demo');
    try {
      await again.waitForOutput('Warden is up', 90_000);
      expect(again.output()).toMatch(/tools: 10 registered \(0 new\)/);
      expect(again.output()).toMatch(/policies: version 1 is the reference set/);
      expect(again.output()).toMatch(/credential helpdesk\/api-token: held by the executor/);
      expect(again.output()).toMatch(/budgets: 2 reference budgets\n/);
      expect(again.output()).not.toMatch(/ran 7 scenarios/);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('takes its service processes and the helpdesk down with it when it is killed', async () => {
    const killedEnv = uniqueEnv('cli-killed');
    const split = await startWardenUp(
      { env: killedEnv, natsUrl: nats.url, stateDir: `${dir}/killed` },
      ['--no-demo', '--split'],
    );
    try {
      await split.waitForOutput('Warden is up', 90_000);
      const children = childPids(split.child.pid ?? 0);
      expect(children).toHaveLength(6); // the helpdesk and five services
      split.child.kill('SIGKILL');
      await waitFor(() => children.every((pid) => !isAlive(pid)), {
        timeoutMs: 30_000,
        message: 'the children of a killed warden up to stop',
      });
    } finally {
      await split.stop();
      await removeEnv(nc, killedEnv);
    }
  }, 150_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
