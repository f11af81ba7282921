import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@warden/messaging';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { budgetsCommand } from '../src/commands/budgets.command.js';
import { pauseCommand, pausedCommand, resumeCommand } from '../src/commands/pause.command.js';
import { ApiRefusedError } from '../src/nats-client.js';
import { CliError } from '../src/output.js';
import { captureStdoutInEachTest, inProcessWarden } from './support/cli.js';
import {
  AGENT_BUDGET_SET,
  AGENT_PAUSE,
  BUDGETS,
  DEGRADED,
  SPEND,
} from './support/governor-views.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/*
 * The cost governor's CLI commands (budgets set|show, pause, resume, paused) run in-process
 * against a stand-in cost governor on real NATS: a responder on `warden.<env>.api.cost.<op>`
 * that records what the CLI sent and answers as each test tells it. The governor itself is
 * tested in apps/cost-governor; this checks the CLI's side of the wire and what it prints.
 */

let nats: TestNats;
let nc: NatsConnection;
let api: StandInApi;
const env = uniqueEnv('cli-governor');
const stdout = captureStdoutInEachTest();

/** Runs `warden <args>` in-process against the stand-in, with an admin token. */
function warden(...args: string[]): Promise<unknown> {
  return wardenIn(env, ...args);
}

function wardenIn(envName: string, ...args: string[]): Promise<unknown> {
  return inProcessWarden(
    budgetsCommand(),
    pauseCommand(),
    resumeCommand(),
    pausedCommand(),
  ).parseAsync([...args, '--env', envName, '--nats', nats.url, '--token', 'admin-token'], {
    from: 'user',
  });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-governor-test' });
  api = await startStandInApi(nc, env, 'cost', [
    'budget-set',
    'budget-show',
    'pause',
    'resume',
    'pause-list',
  ]);
});

afterAll(async () => {
  api.stop();
  await nc.close();
  await nats.stop();
});

beforeEach(() => {
  api.received.length = 0;
});

describe('warden budgets', () => {
  it('sends the setting in micro-USD with the token, and prints the resulting budgets', async () => {
    api.answer('budget-set', { ok: true, result: { budgets: BUDGETS, changed: true } });
    await warden(
      'budgets',
      'set',
      '--agent',
      'support-triage-1',
      '--daily-usd',
      '20',
      '--rate-limit',
      'zendesk.update_ticket=10/1m',
      '--rate-limit',
      '*=100/1h',
    );
    expect(api.received).toEqual([
      { op: 'budget-set', credential: 'admin-token', body: AGENT_BUDGET_SET },
    ]);
    expect(stdout.text).toMatch(/^set the budget of agent support-triage-1\n/);
    expect(stdout.text).toContain('zendesk.update_ticket=10/1m, *=100/1h');
    expect(stdout.text).toContain('20.00');
  });

  it('prints the result as JSON with --json, and "unchanged" when it was already so', async () => {
    api.answer('budget-set', { ok: true, result: { budgets: BUDGETS, changed: false } });
    await warden('budgets', 'set', '--run', '--budget-usd', '5.00', '--json');
    expect(JSON.parse(stdout.text)).toEqual({ budgets: BUDGETS, changed: false });
    stdout.clear();
    await warden('budgets', 'set', '--run', '--budget-usd', '5.00');
    expect(stdout.text).toMatch(/^unchanged: the run limits already had exactly these limits/);
  });

  it("shows an agent's spend for the day", async () => {
    api.answer('budget-show', { ok: true, result: { budgets: BUDGETS, spend: [SPEND] } });
    await warden('budgets', 'show', '--agent', 'support-triage-1', '--day', '2025-01-31');
    expect(api.received[0]?.body).toEqual({ agent_id: 'support-triage-1', day: '2025-01-31' });
    expect(stdout.text).toContain('Spend');
    expect(stdout.text).toContain('12.345678');
  });

  it('turns a refusal into an error that says what to do next', async () => {
    api.answer('budget-set', {
      ok: false,
      error: { code: 'forbidden', message: 'human alice lacks the admin role' },
    });
    const error = await warden(
      'budgets',
      'set',
      '--workflow',
      'refunds',
      '--daily-usd',
      '100',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRefusedError);
    expect((error as ApiRefusedError).message).toBe('human alice lacks the admin role');
    expect((error as ApiRefusedError).hint).toMatch(/admin role.*warden login --user <admin>/);
  });

  it('says no cost governor runs when nothing answers', async () => {
    const error = await wardenIn(uniqueEnv('cli-governor-none'), 'budgets', 'show').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/no cost governor is running/);
  });
});

describe('warden pause, resume and paused', () => {
  it('pauses with the token and the reason, and prints who, when and why', async () => {
    api.answer('pause', { ok: true, result: { changed: true, paused: [AGENT_PAUSE] } });
    await warden('pause', '--agent', 'support-triage-1', '--reason', 'looping on ticket 4711');
    expect(api.received).toEqual([
      {
        op: 'pause',
        credential: 'admin-token',
        body: {
          target: { scope: 'agent', agent_id: 'support-triage-1' },
          reason: 'looping on ticket 4711',
        },
      },
    ]);
    expect(stdout.text).toBe(
      'paused agent support-triage-1: by alice at 2025-01-02T00:00:00.000000Z (looping on ticket 4711)\n',
    );
  });

  it('lists what is paused and degraded, or prints JSON with --json', async () => {
    const result = { paused: [AGENT_PAUSE], degraded: [DEGRADED] };
    api.answer('pause-list', { ok: true, result });
    await warden('paused');
    expect(api.received[0]).toMatchObject({ op: 'pause-list', body: {} });
    expect(stdout.text).toContain('looping on ticket 4711');
    expect(stdout.text).toContain('Degraded tools');
    stdout.clear();
    await warden('paused', '--json');
    expect(JSON.parse(stdout.text)).toEqual(result);
  });

  it('turns a refusal into an error that says what to do next', async () => {
    api.answer('resume', {
      ok: false,
      error: { code: 'forbidden', message: 'human carol lacks the admin role' },
    });
    const error = await warden('resume', '--workflow', 'refunds').catch((e: unknown) => e);
    expect(api.received[0]?.body).toEqual({ target: { scope: 'workflow', workflow: 'refunds' } });
    expect(error).toBeInstanceOf(ApiRefusedError);
    expect((error as ApiRefusedError).message).toBe('human carol lacks the admin role');
    expect((error as ApiRefusedError).hint).toMatch(/admin role/);
  });

  it('refuses a command naming no scope before connecting', async () => {
    await expect(warden('resume')).rejects.toBeInstanceOf(CliError);
    expect(api.received).toEqual([]);
  });
});
