import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, subjects, SUBJECT_TOKEN_RULE, type AgentView } from '@warden/contracts';
import { connectNats } from '@warden/messaging';
import { makeTempDir, removeTempDir, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentsCommand } from '../src/commands/agents.command.js';
import { humansCommand } from '../src/commands/humans.command.js';
import { loginCommand, logoutCommand } from '../src/commands/login.command.js';
import { revokeCommand } from '../src/commands/revoke.command.js';
import { CliError } from '../src/output.js';

/*
 * The identity CLI commands run in-process against a stand-in identity broker on real NATS: a
 * responder per op that records what the CLI sent (body and headers) and answers as the contract
 * says. The registry itself is tested in apps/identity-broker; this checks the CLI's side of
 * the wire, its flag validation and its credentials file.
 */

let nats: TestNats;
let nc: NatsConnection;
let dir: string;
const env = uniqueEnv('cli-identity');
const subscriptions: Subscription[] = [];
const received: { op: string; body: Record<string, unknown>; credential: string | undefined }[] =
  [];
let stdout = '';

const view: AgentView = {
  agent_id: 'triage-1',
  owner: 'alice',
  domains: ['support', 'billing'],
  environment: env,
  risk_tier: 'medium',
  status: 'active',
  authentication_method: 'client_secret',
  registered_at: '2026-01-01T00:00:00.000000Z',
  registered_by: 'admin',
  updated_at: '2026-01-01T00:00:00.000000Z',
};

/** Answers `op` with `result`, recording each request. */
function respond(op: string, result: unknown): void {
  const subscription = nc.subscribe(subjects.api(env, 'identity', op));
  subscriptions.push(subscription);
  void (async () => {
    for await (const message of subscription) record(op, message, result);
  })();
}

function record(op: string, message: Msg, result: unknown): void {
  received.push({
    op,
    body: message.json<Record<string, unknown>>(),
    credential: message.headers?.get(CREDENTIAL_HEADER) || undefined,
  });
  message.respond(JSON.stringify({ ok: true, result }));
}

/** Runs `warden <args> --env <env> --nats <url>` in-process, Commander's exits as exceptions. */
function warden(...args: string[]): Promise<void> {
  return run(...args, '--nats', nats.url);
}

/** Runs `warden <args> --env <env>` in-process (for commands that do not connect). */
async function run(...args: string[]): Promise<void> {
  const program = new Command('warden')
    .addCommand(agentsCommand())
    .addCommand(humansCommand())
    .addCommand(loginCommand())
    .addCommand(logoutCommand())
    .addCommand(revokeCommand());
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeErr: () => undefined });
    command.commands.forEach(quiet);
  };
  quiet(program);
  await program.parseAsync([...args, '--env', env], { from: 'user' });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-identity-test' });
  dir = await makeTempDir('cli-identity');
  respond('agent-register', { agent: view, client_secret: 'wsec_the-secret-shown-once' });
  respond('agent-list', { agents: [view] });
  respond('human-token', {
    token: 'human-token-1',
    jti: 'jti-1',
    expires_at: '2099-01-01T00:00:00.000000Z',
  });
  await nc.flush();
});

afterAll(async () => {
  for (const subscription of subscriptions) subscription.unsubscribe();
  await nc.close();
  await removeTempDir(dir);
  await nats.stop();
});

beforeEach(() => {
  received.length = 0;
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.stubEnv('WARDEN_CREDENTIALS_FILE', join(dir, 'config', 'warden', 'credentials.json'));
  vi.stubEnv('WARDEN_TOKEN', '');
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('warden agents register', () => {
  it('refuses an id that is not a subject token with the rule, before any request', async () => {
    const attempt = warden(
      'agents',
      'register',
      'Support.Bot',
      '--owner',
      'alice',
      '--domain',
      's',
      '--token',
      't',
    );
    await expect(attempt).rejects.toThrow(CliError);
    await expect(attempt).rejects.toThrow(SUBJECT_TOKEN_RULE);
    expect(received).toEqual([]);
  });

  it('sends the admin token, integer micro-USD and the env, and shows the secret once', async () => {
    await warden(
      'agents',
      'register',
      'triage-1',
      '--owner',
      'alice',
      '--domain',
      'support',
      '--domain',
      'billing',
      '--default-budget-usd',
      '2.5',
      '--tool-group',
      'helpdesk.read',
      '--token',
      'admin-token',
    );
    expect(received).toEqual([
      {
        op: 'agent-register',
        credential: 'admin-token',
        body: {
          agent_id: 'triage-1',
          owner: 'alice',
          domains: ['support', 'billing'],
          environment: env,
          risk_tier: 'medium',
          tool_groups: ['helpdesk.read'],
          default_budget_micro_usd: 2_500_000,
        },
      },
    ]);
    expect(stdout).toContain('wsec_the-secret-shown-once');
    expect(stdout).toMatch(/Store it now/);
  });

  it('refuses a private key file, and a budget with a float', async () => {
    const file = join(dir, 'private.jwk');
    await writeFile(
      file,
      JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'B'.repeat(43) }),
    );
    await expect(
      warden(
        'agents',
        'register',
        'signer-1',
        '--owner',
        'a',
        '--domain',
        's',
        '--public-key',
        file,
        '--token',
        't',
      ),
    ).rejects.toThrow(/private key/);
    await expect(
      warden(
        'agents',
        'register',
        'b-1',
        '--owner',
        'a',
        '--domain',
        's',
        '--default-budget-usd',
        '1e3',
        '--token',
        't',
      ),
    ).rejects.toThrow(/USD amount/);
    expect(received).toEqual([]);
  });

  it('says to log in when there is no token', async () => {
    const attempt = warden('agents', 'list');
    await expect(attempt).rejects.toMatchObject({
      message: expect.stringContaining('not logged in') as unknown,
      hint: expect.stringContaining('warden login --user admin --secret-file') as unknown,
    });
  });

  it('prints help with examples', async () => {
    await expect(warden('agents', 'register', '--help')).rejects.toMatchObject({ exitCode: 0 });
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('--default-budget-usd');
  });
});

describe('warden login', () => {
  it('stores the token per env in a 0600 file, uses it for admin calls, and forgets it at logout', async () => {
    const secretFile = join(dir, 'admin.secret');
    await writeFile(secretFile, 'the-admin-secret\n');
    await warden('login', '--user', 'admin', '--secret-file', secretFile);
    expect(received[0]).toEqual({
      op: 'human-token',
      credential: undefined,
      body: { human_id: 'admin', secret: 'the-admin-secret' },
    });
    expect(stdout).not.toContain('human-token-1');

    const path = join(dir, 'config', 'warden', 'credentials.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(path, 'utf8')) as {
      envs: Record<string, { token: string }>;
    };
    expect(stored.envs[env]?.token).toBe('human-token-1');

    await warden('agents', 'list', '--json');
    expect(received[1]).toMatchObject({ op: 'agent-list', credential: 'human-token-1' });
    expect(JSON.parse(stdout.slice(stdout.indexOf('['))) as unknown).toEqual([view]);

    await run('logout');
    await expect(warden('agents', 'list')).rejects.toThrow(/not logged in/);
  });
});

describe('warden revoke', () => {
  it('needs either --jti or --agent with --all', async () => {
    await expect(warden('revoke', '--agent', 'a1', '--token', 't')).rejects.toThrow(
      /--jti <jti>, or --agent/,
    );
    await expect(warden('revoke', '--agent', 'A.1', '--all', '--token', 't')).rejects.toThrow(
      SUBJECT_TOKEN_RULE,
    );
    expect(received).toEqual([]);
  });
});
