import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, removeEnv } from '@warden/messaging';
import { BUILTIN_POLICY_FILES } from '@warden/policy';
import {
  humanWithToken,
  makeTempDir,
  removeTempDir,
  startNats,
  uniqueEnv,
  type TestNats,
} from '@warden/testing';
import { expect } from 'vitest';
import { startHelpdeskProcess, type HelpdeskProcess } from './helpdesk.js';
import { ROOT, runWarden } from './processes.js';
import { Stack } from './stack.js';
import { exampleFiles } from './triage.js';

/** What {@link startReferenceStack} started, for one e2e spec. */
export interface ReferenceStack {
  readonly env: string;
  readonly nats: TestNats;
  readonly nc: NatsConnection;
  readonly helpdesk: HelpdeskProcess;
  readonly stack: Stack;
  /** The helpdesk's bearer token: only the executor holds it (and the test, to look). */
  readonly apiToken: string;
  /** A human token of `ops-admin` (role admin). */
  readonly adminToken: string;
  /** `warden …` as a person holding `token` runs it against this stack. */
  cli(token: string, args: string[], input?: string): ReturnType<typeof runWarden>;
  stop(): Promise<void>;
}

/**
 * The reference deployment of the support-triage workflow as separate processes: its own NATS,
 * the helpdesk (its own process, over HTTP), the five services with the helpdesk in the
 * executor's upstream table, and — through the CLI as an admin — the reference tools, the
 * reference policies beside the built-in one, and the helpdesk credential in the executor's store.
 */
export async function startReferenceStack(
  name: string,
  options: { executorEnv?: Record<string, string> } = {},
): Promise<ReferenceStack> {
  const env = uniqueEnv(name);
  const apiToken = `hd-${randomBytes(24).toString('hex')}`;
  const nats = await startNats();
  const nc = await connectNats({ servers: nats.url, name });
  const dir = await makeTempDir(`warden-${name}-`);
  const helpdesk = await startHelpdeskProcess({
    apiToken,
    adminToken: `helpdesk-admin-${name}`,
    dataDir: join(dir, 'helpdesk'),
  });
  const upstreams = join(dir, 'upstreams.yaml');
  writeFileSync(
    upstreams,
    `helpdesk:\n  base_url: ${helpdesk.url}\n  tools: ["zendesk.*"]\n  allow_private: true\n`,
  );
  const stack = await Stack.start({
    env,
    natsUrl: nats.url,
    dataDir: join(dir, 'data'),
    seedBuiltins: false,
    serviceEnv: (service): Record<string, string> =>
      service === 'tool-executor'
        ? { EXECUTOR_UPSTREAMS_FILE: upstreams, ...options.executorEnv }
        : {},
  });
  const adminToken = await humanWithToken(nc, env, 'ops-admin', ['admin']);
  const cli = (token: string, args: string[], input?: string) =>
    runWarden({ env, natsUrl: nats.url }, args, { WARDEN_TOKEN: token }, input);

  const registered = cli(adminToken, ['tools', 'register', ...exampleFiles('tools')]);
  expect(registered.status, registered.stderr).toBe(0);
  const builtin = join(dir, 'builtin.cedar');
  writeFileSync(builtin, BUILTIN_POLICY_FILES[0]?.text ?? '');
  const published = cli(adminToken, [
    'policies',
    'publish',
    join(ROOT, 'examples/support-triage/policies'),
    builtin,
    '--message',
    'support-triage reference policies',
  ]);
  expect(published.status, published.stderr).toBe(0);
  const secret = cli(
    adminToken,
    ['secrets', 'set', 'helpdesk/api-token', '--from-stdin'],
    apiToken,
  );
  expect(secret.status, secret.stderr).toBe(0);
  expect(`${secret.stdout}${secret.stderr}`).not.toContain(apiToken);

  return {
    env,
    nats,
    nc,
    helpdesk,
    stack,
    apiToken,
    adminToken,
    cli,
    stop: async () => {
      await stack.stop();
      await helpdesk.stop();
      await removeEnv(nc, env);
      await nc.close();
      await removeTempDir(dir);
      await nats.stop();
    },
  };
}
