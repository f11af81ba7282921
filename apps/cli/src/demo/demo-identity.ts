import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { IDENTITY_API, subjects, type AgentRegisterRequest } from '@warden/contracts';
import { loadLogin } from '../credentials-file.js';
import { bootstrapAdminSecret } from '../identity-state.js';
import { callIdentityAdmin, type AdminOptions } from '../commands/admin-options.js';
import { ApiRefusedError, callApi, connectForCli } from '../nats-client.js';
import { CliError } from '../output.js';

/** Where `warden up` keeps the client secret of an agent it registered. */
export function agentSecretFile(stateDir: string, env: string, agentId: string): string {
  return join(resolve(stateDir, env), 'agents', `${agentId}.secret`);
}

/** Where `warden up` keeps the secret of a person it registered. */
export function humanSecretFile(stateDir: string, env: string, humanId: string): string {
  return join(resolve(stateDir, env), 'humans', `${humanId}.secret`);
}

/** Writes a secret (mode 0600, its folder 0700). */
function keep(file: string, secret: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
}

/** Keeps a new person's secret where `warden login --secret-file` can read it. */
export function keepHumanSecret(stateDir: string, env: string, humanId: string, secret: string) {
  keep(humanSecretFile(stateDir, env, humanId), secret);
}

/**
 * An agent's client secret: registered once by an admin, the secret kept (mode 0600) under the
 * state directory so the next start authenticates as the same agent.
 */
export async function agentSecret(
  admin: AdminOptions & { stateDir: string },
  agent: Omit<AgentRegisterRequest, 'agent_id' | 'domains' | 'tool_groups'> & {
    readonly agent_id: string;
    readonly domains: readonly string[];
    readonly tool_groups?: readonly string[];
  },
): Promise<string> {
  const file = agentSecretFile(admin.stateDir, admin.env, agent.agent_id);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const { domains, tool_groups: groups, ...attributes } = agent;
  const registered = await callIdentityAdmin(admin, 'agent-register', {
    ...attributes,
    domains: [...domains],
    ...(groups === undefined ? {} : { tool_groups: [...groups] }),
  }).catch((error: unknown) => {
    if (error instanceof ApiRefusedError && error.code === 'agent_exists') {
      throw new CliError(
        `agent ${agent.agent_id} is registered in env ${admin.env}, but its secret is not in ${file}`,
        'Start with the --state directory that registered it, or in a new env (--env).',
      );
    }
    throw error;
  });
  if (registered.client_secret === undefined) {
    throw new CliError(`agent ${agent.agent_id} was registered without a client secret`);
  }
  keep(file, registered.client_secret);
  return registered.client_secret;
}

/**
 * A human token to act as an admin: `warden login`'s, else the bootstrap admin's from the state
 * directory.
 */
export async function adminToken(options: {
  env: string;
  nats: string;
  stateDir: string;
}): Promise<string> {
  const { env } = options;
  const login = await loadLogin(env);
  if (login !== undefined && Date.parse(login.expires_at) > Date.now()) return login.token;
  const secret = bootstrapAdminSecret(options.stateDir, env);
  if (secret === undefined) {
    throw new CliError(
      `no admin credentials for env ${env}`,
      'Run `warden login --user <admin>` first, or run from the directory where `warden up` keeps its state (--state).',
    );
  }
  const nc = await connectForCli(options.nats);
  try {
    const result = await callApi(
      nc,
      subjects.api(env, 'identity', 'human-token'),
      { human_id: 'admin', secret },
      IDENTITY_API['human-token'].result,
      { service: 'identity broker', env },
    );
    return result.token;
  } finally {
    await nc.close();
  }
}
