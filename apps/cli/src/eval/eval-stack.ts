import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, removeEnv } from '@warden/messaging';
import { identityEnv, identityState } from '../identity-state.js';
import { ensureNats } from '../local-nats.js';
import { CliError } from '../output.js';
import { loadService, SERVICES } from '../services.js';
import { adminToken } from '../demo/demo-identity.js';
import { helpdeskState, startHelpdeskProcess } from '../demo/helpdesk-process.js';
import { ensureReference } from '../demo/reference-setup.js';
import { runningDeployment } from '../demo/running-deployment.js';
import { callPolicyAdmin, type AdminOptions } from '../commands/admin-options.js';
import type { ConnectionOptions } from '../commands/common-options.js';
import { formatIssues, validatePolicies } from '../commands/policies.command.js';
import type { RunTarget } from './run-cases.js';

/** A stack run cases play on, and how to let it go. */
export interface EvalStack extends RunTarget {
  stop(): Promise<void>;
}

/**
 * Starts what `warden up` starts, for one eval and in a fresh env of its own: NATS (the one at
 * `nats` if it answers, else a nats-server with its store in a temp directory), the reference
 * helpdesk with a freshly seeded queue, the five services in this process (chDB in the temp
 * directory), and the reference setup (agent, people, tools, policies, budgets, credential).
 * `stop` stops them, removes the env's stream and buckets, and deletes the directory.
 */
export async function startEmbeddedStack(options: {
  nats: string;
  logLevel: string;
  progress: (line: string) => void;
  /** Policy files to publish in place of the reference set (they must validate). */
  policies?: readonly string[];
  schema?: string;
}): Promise<EvalStack> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-eval-'));
  const env = `eval-${randomBytes(4).toString('hex')}`;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const one of stops.reverse()) await one().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nats = await ensureNats(options.nats, dir);
    stops.push(() => nats.stop());
    stops.push(async () => {
      if (nats.started) return; // its store goes with the directory
      const nc = await connectNats({ servers: nats.url, name: 'warden-eval' });
      try {
        await removeEnv(nc, env);
      } finally {
        await nc.close();
      }
    });
    const helpdesk = helpdeskState(dir, env);
    const helpdeskProcess = await startHelpdeskProcess(helpdesk);
    stops.push(() => helpdeskProcess.stop());
    options.progress(`helpdesk on ${helpdeskProcess.url}`);
    const upstreams = join(helpdesk.dir, 'upstreams.yaml');
    writeFileSync(
      upstreams,
      `helpdesk:\n  base_url: ${helpdeskProcess.url}\n  tools: ['zendesk.*']\n  allow_private: true\n`,
      { mode: 0o600 },
    );
    const serviceEnv: NodeJS.ProcessEnv = {
      // The outage scenario waits for the breaker's probe: keep it short, as `warden up` does.
      EXECUTOR_BREAKER_COOLDOWN_MS: '5000',
      ...process.env,
      ...identityEnv(identityState(dir, env)),
      EXECUTOR_UPSTREAMS_FILE: upstreams,
      WARDEN_ENV: env,
      NATS_URL: nats.url,
      WARDEN_DATA_DIR: join(dir, 'data'),
      HTTP_PORT: '0',
      LOG_LEVEL: options.logLevel,
    };
    for (const name of SERVICES) {
      const service = await loadService(name);
      const running = await service.start(service.config(serviceEnv));
      stops.push(() => running.stop());
    }
    options.progress(`services of env ${env} started in this process`);
    const admin = { env, nats: nats.url, stateDir: dir };
    const token = await adminToken(admin);
    const setup = await ensureReference({ ...admin, token }, helpdesk);
    options.progress('reference workflow registered');
    if (options.policies !== undefined) {
      await publishPolicies({ env, nats: nats.url, token }, options.policies, options.schema);
    }
    const policies =
      options.policies === undefined
        ? 'the reference policies'
        : `the policy files ${options.policies.join(' ')}`;
    return {
      describe: `an embedded stack (env ${env}, ${policies}, a freshly seeded helpdesk)`,
      servers: nats.url,
      env,
      lasting: false,
      agentSecret: setup.agentSecret,
      helpdesk: {
        url: helpdeskProcess.url,
        adminToken: helpdesk.adminToken,
        apiToken: helpdesk.apiToken,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The stack a `warden up` of this machine runs, found through its state directory the way
 * `warden demo` finds it: the agent's secret and the helpdesk's address and tokens.
 */
export function runningStack(options: ConnectionOptions & { state: string }): EvalStack {
  const deployment = runningDeployment(options.state, options.env);
  return {
    describe: `the running stack of env ${options.env} (its helpdesk as it is now)`,
    servers: options.nats,
    env: options.env,
    lasting: true,
    ...deployment,
    stop: () => Promise.resolve(),
  };
}

/** Publishes local policy files as the stack's active version, refusing a set that does not validate. */
async function publishPolicies(
  admin: AdminOptions,
  paths: readonly string[],
  schemaPath: string | undefined,
): Promise<void> {
  const checked = await validatePolicies(paths, schemaPath);
  if (checked.check.errors.length > 0) {
    throw new CliError(
      `the policy files for the run cases do not validate:\n${formatIssues(checked.check.errors).join('\n')}`,
      `Check them with \`warden policies validate ${paths.join(' ')}\`.`,
    );
  }
  await callPolicyAdmin(admin, 'policy-publish', {
    schema: checked.schema.text,
    files: checked.files.map(({ name, text }) => ({ name, text })),
    message: 'warden eval: the policies under evaluation',
  });
}
