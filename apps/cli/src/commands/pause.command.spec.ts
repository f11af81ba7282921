import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  CREDENTIAL_HEADER,
  PauseRequest,
  ResumeRequest,
  subjects,
  type DegradedToolView,
  type PausedView,
} from '@warden/contracts';
import { connectNats } from '@warden/messaging';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { Command, type CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiRefusedError } from '../nats-client.js';
import { CliError } from '../output.js';
import {
  DEGRADED_COLUMNS,
  degradedRows,
  describePause,
  describeResume,
  PAUSED_COLUMNS,
  pausedCommand,
  pausedRows,
  pauseCommand,
  pauseTargetFrom,
  printPauseList,
  resumeCommand,
} from './pause.command.js';

const AGENT_PAUSE: PausedView = {
  scope: 'agent',
  id: 'support-triage-1',
  by: 'alice',
  at: '2025-01-02T00:00:00.000000Z',
  reason: 'looping on ticket 4711',
};
const WORKFLOW_PAUSE: PausedView = {
  scope: 'workflow',
  id: 'refunds',
  by: 'bob',
  at: '2025-01-01T00:00:00.000000Z',
};
const DEGRADED: DegradedToolView = {
  tool: 'zendesk.update_ticket',
  since: '2025-01-03T00:00:00.000000Z',
  reason: 'circuit open after 5 upstream errors',
};

describe('pause and resume: the request', () => {
  it('names exactly one of --agent and --workflow', () => {
    expect(pauseTargetFrom({ agent: 'a-1' })).toEqual({ scope: 'agent', agent_id: 'a-1' });
    expect(pauseTargetFrom({ workflow: 'refunds' })).toEqual({
      scope: 'workflow',
      workflow: 'refunds',
    });
    expect(() => pauseTargetFrom({})).toThrow(/--agent <id> or --workflow <id>/);
    expect(() => pauseTargetFrom({ agent: 'a', workflow: 'w' })).toThrow(
      /--agent and --workflow name different scopes/,
    );
  });

  it('builds bodies the contract accepts', () => {
    const target = pauseTargetFrom({ agent: 'a-1' });
    expect(PauseRequest.parse({ target, reason: 'why' })).toEqual({ target, reason: 'why' });
    expect(ResumeRequest.parse({ target })).toEqual({ target });
  });

  it('requires --reason to pause, not to resume', async () => {
    const error = await quiet(pauseCommand())
      .parseAsync(['--agent', 'a-1', '--token', 't'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
    expect(resumeCommand().options.find((option) => option.long === '--reason')?.mandatory).toBe(
      false,
    );
  });

  it('refuses an id that cannot be a subject token, and an empty reason, before sending', async () => {
    const invalid = await quiet(pauseCommand())
      .parseAsync(['--agent', 'Support.Bot', '--reason', 'x'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((invalid as CommanderError).code).toBe('commander.invalidArgument');
    await expect(
      quiet(pauseCommand()).parseAsync(['--agent', 'a-1', '--reason', ' '], { from: 'user' }),
    ).rejects.toThrow(/--reason is empty/);
  });
});

describe('pause output', () => {
  it('says who paused it, when and why', () => {
    const target = { scope: 'agent', agent_id: 'support-triage-1' } as const;
    expect(describePause(target, { changed: true, paused: [WORKFLOW_PAUSE, AGENT_PAUSE] })).toBe(
      'paused agent support-triage-1: by alice at 2025-01-02T00:00:00.000000Z (looping on ticket 4711)\n',
    );
    expect(describePause(target, { changed: false, paused: [AGENT_PAUSE] })).toMatch(
      /^unchanged: agent support-triage-1 was already paused: by alice/,
    );
    expect(describeResume({ scope: 'workflow', workflow: 'refunds' }, false)).toBe(
      'unchanged: workflow refunds was not paused\n',
    );
  });

  it('lists pauses oldest first, and the degraded tools', () => {
    const rows = pausedRows([AGENT_PAUSE, WORKFLOW_PAUSE]);
    expect(rows.map((row) => PAUSED_COLUMNS.map((column) => row[column]))).toEqual([
      ['workflow', 'refunds', 'bob', '2025-01-01T00:00:00.000000Z', ''],
      ['agent', 'support-triage-1', 'alice', AGENT_PAUSE.at, 'looping on ticket 4711'],
    ]);
    const [degraded] = degradedRows([DEGRADED]);
    expect(DEGRADED_COLUMNS.map((column) => degraded?.[column])).toEqual([
      'zendesk.update_ticket',
      '2025-01-03T00:00:00.000000Z',
      'circuit open after 5 upstream errors',
    ]);
  });

  it('says so when nothing is paused or degraded', () => {
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    printPauseList([], [], 'prod');
    write.mockRestore();
    expect(out).toBe('nothing is paused in env prod\nno degraded tools in env prod\n');
  });
});

/*
 * The commands against a stand-in cost governor on real NATS: a responder on
 * `warden.<env>.api.cost.<op>` that records what the CLI sent and answers as told.
 */
describe('pause against the cost governor API', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  const env = uniqueEnv('cli-pause');
  const subscriptions: Subscription[] = [];
  const received: { op: string; body: unknown; credential: string | undefined }[] = [];
  const answers = new Map<string, unknown>();
  let stdout = '';

  function respond(op: string): void {
    const subscription = nc.subscribe(subjects.api(env, 'cost', op));
    subscriptions.push(subscription);
    void (async () => {
      for await (const message of subscription) answer(op, message);
    })();
  }

  function answer(op: string, message: Msg): void {
    received.push({
      op,
      body: message.json<unknown>(),
      credential: message.headers?.get(CREDENTIAL_HEADER) || undefined,
    });
    message.respond(JSON.stringify(answers.get(op)));
  }

  /** Runs `warden <args>` in-process with the three commands, as main.ts registers them. */
  function warden(...args: string[]): Promise<unknown> {
    const program = new Command('warden')
      .addCommand(pauseCommand())
      .addCommand(resumeCommand())
      .addCommand(pausedCommand());
    return quiet(program).parseAsync(
      [...args, '--env', env, '--nats', nats.url, '--token', 'admin-token'],
      { from: 'user' },
    );
  }

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'cli-pause-test' });
    respond('pause');
    respond('resume');
    respond('pause-list');
    await nc.flush();
  });

  afterAll(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await nc.close();
    await nats.stop();
  });

  beforeEach(() => {
    received.length = 0;
    stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('pauses with the token and the reason, and prints who, when and why', async () => {
    answers.set('pause', { ok: true, result: { changed: true, paused: [AGENT_PAUSE] } });
    await warden('pause', '--agent', 'support-triage-1', '--reason', 'looping on ticket 4711');
    expect(received).toEqual([
      {
        op: 'pause',
        credential: 'admin-token',
        body: {
          target: { scope: 'agent', agent_id: 'support-triage-1' },
          reason: 'looping on ticket 4711',
        },
      },
    ]);
    expect(stdout).toBe(
      'paused agent support-triage-1: by alice at 2025-01-02T00:00:00.000000Z (looping on ticket 4711)\n',
    );
  });

  it('lists what is paused and degraded, or prints JSON with --json', async () => {
    const result = { paused: [AGENT_PAUSE], degraded: [DEGRADED] };
    answers.set('pause-list', { ok: true, result });
    await warden('paused');
    expect(received[0]).toMatchObject({ op: 'pause-list', body: {} });
    expect(stdout).toContain('looping on ticket 4711');
    expect(stdout).toContain('Degraded tools');
    stdout = '';
    await warden('paused', '--json');
    expect(JSON.parse(stdout)).toEqual(result);
  });

  it('turns a refusal into an error that says what to do next', async () => {
    answers.set('resume', {
      ok: false,
      error: { code: 'forbidden', message: 'human carol lacks the admin role' },
    });
    const error = await warden('resume', '--workflow', 'refunds').catch((e: unknown) => e);
    expect(received[0]?.body).toEqual({ target: { scope: 'workflow', workflow: 'refunds' } });
    expect(error).toBeInstanceOf(ApiRefusedError);
    expect((error as ApiRefusedError).message).toBe('human carol lacks the admin role');
    expect((error as ApiRefusedError).hint).toMatch(/admin role/);
  });

  it('refuses a command naming no scope before connecting', async () => {
    await expect(warden('resume')).rejects.toBeInstanceOf(CliError);
    expect(received).toEqual([]);
  });
});

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
