import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, IDENTITY_API, subjects } from '@warden/contracts';
import { loadLogin } from '../credentials-file.js';
import { bootstrapAdminSecret } from '../identity-state.js';
import { callApi } from '../nats-client.js';
import { CliError } from '../output.js';

/**
 * The demo agent's identity: registered once by an admin, its client secret kept (mode 0600) in
 * `<state>/<env>/agents/<id>.secret` so the next demo authenticates as the same agent. The admin is
 * whoever `warden login` stored for the env, else the bootstrap admin whose secret `warden up`
 * keeps in the state directory.
 */
export async function demoAgentSecret(
  nc: NatsConnection,
  options: { env: string; stateDir: string; agentId: string },
): Promise<string> {
  const { env, agentId } = options;
  const file = join(resolve(options.stateDir, env), 'agents', `${agentId}.secret`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();

  const token = await adminToken(nc, options);
  const registered = await callApi(
    nc,
    subjects.api(env, 'identity', 'agent-register'),
    { agent_id: agentId, owner: 'admin', domains: ['demo'], risk_tier: 'low' },
    IDENTITY_API['agent-register'].result,
    {
      service: 'identity broker',
      env,
      headers: { [CREDENTIAL_HEADER]: token },
      hint: (code) =>
        code === 'agent_exists'
          ? `Its secret is not in ${file}: run the demo as a new agent with --agent <id>.`
          : undefined,
    },
  );
  if (registered.client_secret === undefined) {
    throw new CliError(`agent ${agentId} was registered without a client secret`);
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${registered.client_secret}\n`, { mode: 0o600 });
  return registered.client_secret;
}

/** A human token to act as an admin: `warden login`'s, else the bootstrap admin's from the state directory. */
export async function adminToken(
  nc: NatsConnection,
  options: { env: string; stateDir: string },
): Promise<string> {
  const { env } = options;
  const login = await loadLogin(env);
  if (login !== undefined && Date.parse(login.expires_at) > Date.now()) return login.token;
  const secret = bootstrapAdminSecret(options.stateDir, env);
  if (secret === undefined) {
    throw new CliError(
      `no admin credentials for env ${env} to register the demo agent`,
      'Run `warden login --user <admin>` first, or run the demo from the directory where `warden up` keeps its state (--state).',
    );
  }
  const result = await callApi(
    nc,
    subjects.api(env, 'identity', 'human-token'),
    { human_id: 'admin', secret },
    IDENTITY_API['human-token'].result,
    { service: 'identity broker', env },
  );
  return result.token;
}
