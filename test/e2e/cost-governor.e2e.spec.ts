import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, removeEnv } from '@warden/messaging';
import { DeniedError, Warden, type Run } from '@warden/sdk';
import {
  eventsOfType,
  humanWithToken,
  makeTempDir,
  registerAgents,
  removeTempDir,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWarden } from './support/processes.js';
import { Stack } from './support/stack.js';

/**
 * Issue 6 across processes: an operator sets budgets and pauses agents with the `warden` CLI
 * (human tokens verified by the identity broker), and SDK agents meet those controls on their
 * next call through all five services.
 */
describe('cost governor: budgets and the kill switch, from the CLI', () => {
  const env = uniqueEnv('governor-e2e');
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let stack: Stack;
  const agents: Warden[] = [];
  const tokens: Record<string, string> = {};

  /** Runs `warden …` as human `as`; returns its exit status and output. */
  const warden = (as: string, ...args: string[]) =>
    runWarden({ env, natsUrl: nats.url }, args, { WARDEN_TOKEN: tokens[as] ?? '' });
  const json = (as: string, ...args: string[]): unknown => {
    const result = warden(as, ...args, '--json');
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  /** A run of a fresh agent of its own. */
  const runOf = async (agentId: string): Promise<Run> => {
    const secrets = await registerAgents(nc, env, [agentId], {
      owner: 'alice',
      domains: ['support'],
    });
    const agent = await Warden.connect({
      servers: nats.url,
      env,
      agentId,
      credential: { clientSecret: secrets.get(agentId) ?? '' },
    });
    agents.push(agent);
    return agent.startRun({ workflow: 'support-triage' });
  };

  /** The outcome of one call: `executed`, or the denial's reason. */
  const outcome = async (run: Run, text: string): Promise<string> => {
    try {
      await run.call('echo', { text }, { timeoutMs: 30_000 });
      return 'executed';
    } catch (error) {
      if (error instanceof DeniedError) return error.reason ?? 'denied';
      throw error;
    }
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'governor-e2e' });
    dir = await makeTempDir('warden-governor-e2e-');
    stack = await Stack.start({ env, natsUrl: nats.url, dataDir: join(dir, 'data') });
    tokens.admin = await humanWithToken(nc, env, 'ops-admin', ['admin']);
    tokens.bob = await humanWithToken(nc, env, 'bob', []);
    await humanWithToken(nc, env, 'alice', []);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await stack.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dir);
    await nats.stop();
  }, 60_000);

  it('rate-limits an agent as `warden budgets set` configured, and shows it', async () => {
    const set = warden(
      'admin',
      'budgets',
      'set',
      '--agent',
      'limited-1',
      '--rate-limit',
      'echo=2/1h',
    );
    expect(set.status, set.stderr).toBe(0);
    const run = await runOf('limited-1');
    const answers = [];
    for (const text of ['a', 'b', 'c']) answers.push(await outcome(run, text));
    expect(answers).toEqual(['executed', 'executed', 'rate_limited']);
    expect(json('bob', 'budgets', 'show')).toMatchObject({
      budgets: {
        agents: [
          {
            agent_id: 'limited-1',
            rate_limits: { echo: { calls: 2, window_ms: 3_600_000 } },
            set_by: 'human:ops-admin',
          },
        ],
      },
    });
  });

  it('pauses an agent from its very next call, logs who and why, and resumes it', async () => {
    const run = await runOf('pausable-1');
    expect(await outcome(run, 'before')).toBe('executed');

    const refused = warden('bob', 'pause', '--agent', 'pausable-1', '--reason', 'not mine');
    expect(refused.status).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/admin/);

    const paused = warden('admin', 'pause', '--agent', 'pausable-1', '--reason', 'incident drill');
    expect(paused.status, paused.stderr).toBe(0);
    expect(await outcome(run, 'during')).toBe('paused');
    expect(json('bob', 'paused')).toMatchObject({
      paused: [
        { scope: 'agent', id: 'pausable-1', by: 'human:ops-admin', reason: 'incident drill' },
      ],
    });
    const [pauseEvent] = await waitFor(async () => {
      const events = await eventsOfType(nc, env, 'agent.paused');
      return events.length > 0 ? events : undefined;
    });
    expect(pauseEvent).toMatchObject({
      agent_id: 'pausable-1',
      data: { by: 'human:ops-admin', reason: 'incident drill' },
    });
    const halted = await waitFor(async () =>
      (await eventsOfType(nc, env, 'run.halted')).find((event) => event.run_id === run.runId),
    );
    expect(halted.data).toMatchObject({ reason: 'paused' });

    const resumed = warden('admin', 'resume', '--agent', 'pausable-1', '--reason', 'drill over');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(await outcome(run, 'after')).toBe('executed');
  });
});
