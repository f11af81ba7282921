import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECT_TOKEN_RULE, type AgentView } from '@warden/contracts';
import { connectNats } from '@warden/messaging';
import { makeTempDir, removeTempDir, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentsCommand } from '../src/commands/agents.command.js';
import { humansCommand } from '../src/commands/humans.command.js';
import { loginCommand, logoutCommand } from '../src/commands/login.command.js';
import { revokeCommand } from '../src/commands/revoke.command.js';
import { CliError } from '../src/output.js';
import { captureStdoutInEachTest, inProcessWarden } from './support/cli.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/*
 * The identity CLI commands run in-process against a stand-in identity broker on real NATS: a
 * responder per op that records what the CLI sent (body and headers) and answers as the contract
 * says. The registry itself is tested in apps/identity-broker; this checks the CLI's side of
 * the wire, its flag validation and its credentials file.
 */

let nats: TestNats;
let nc: NatsConnection;
let api: StandInApi;
let dir: string;
const env = uniqueEnv('cli-identity');
const stdout = captureStdoutInEachTest();

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

/** Runs `warden <args> --env <env> --nats <url>` in-process, Commander's exits as exceptions. */
function warden(...args: string[]): Promise<void> {
  return run(...args, '--nats', nats.url);
}

/** Runs `warden <args> --env <env>` in-process (for commands that do not connect). */
async function run(...args: string[]): Promise<void> {
  const program = inProcessWarden(
    agentsCommand(),
    humansCommand(),
    loginCommand(),
    logoutCommand(),
    revokeCommand(),
  );
  await program.parseAsync([...args, '--env', env], { from: 'user' });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-identity-test' });
  dir = await makeTempDir('cli-identity');
  api = await startStandInApi(nc, env, 'identity', ['agent-register', 'agent-list', 'human-token']);
  api.answer('agent-register', {
    ok: true,
    result: { agent: view, client_secret: 'wsec_the-secret-shown-once' },
  });
  api.answer('agent-list', { ok: true, result: { agents: [view] } });
  api.answer('human-token', {
    ok: true,
    result: { token: 'human-token-1', jti: 'jti-1', expires_at: '2099-01-01T00:00:00.000000Z' },
  });
});

afterAll(async () => {
  api.stop();
  await nc.close();
  await removeTempDir(dir);
  await nats.stop();
});

beforeEach(() => {
  api.received.length = 0;
  vi.stubEnv('WARDEN_CREDENTIALS_FILE', join(dir, 'config', 'warden', 'credentials.json'));
  vi.stubEnv('WARDEN_TOKEN', '');
});

afterEach(() => {
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
    expect(api.received).toEqual([]);
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
    expect(api.received).toEqual([
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
    expect(stdout.text).toContain('wsec_the-secret-shown-once');
    expect(stdout.text).toMatch(/Store it now/);
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
    expect(api.received).toEqual([]);
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
    expect(stdout.text).toContain('Examples:');
    expect(stdout.text).toContain('--default-budget-usd');
  });
});

describe('warden login', () => {
  it('stores the token per env in a 0600 file, uses it for admin calls, and forgets it at logout', async () => {
    const secretFile = join(dir, 'admin.secret');
    await writeFile(secretFile, 'the-admin-secret\n');
    await warden('login', '--user', 'admin', '--secret-file', secretFile);
    expect(api.received[0]).toEqual({
      op: 'human-token',
      credential: undefined,
      body: { human_id: 'admin', secret: 'the-admin-secret' },
    });
    expect(stdout.text).not.toContain('human-token-1');

    const path = join(dir, 'config', 'warden', 'credentials.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(path, 'utf8')) as {
      envs: Record<string, { token: string }>;
    };
    expect(stored.envs[env]?.token).toBe('human-token-1');

    await warden('agents', 'list', '--json');
    expect(api.received[1]).toMatchObject({ op: 'agent-list', credential: 'human-token-1' });
    expect(JSON.parse(stdout.text.slice(stdout.text.indexOf('['))) as unknown).toEqual([view]);

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
    expect(api.received).toEqual([]);
  });
});
