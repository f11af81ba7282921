import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { getFreePort, makeTempDir, removeTempDir, sleep } from '@warden/testing';
import { generateNatsSetup, type NatsSetup } from '../../src/index.js';

/** The committed server config under test. */
const DEPLOY_CONF = resolve(import.meta.dirname, '../../../../deploy/nats/nats-server.conf');

/** A nats-server running deploy/nats/nats-server.conf with a freshly generated setup. */
export interface AuthedServer {
  readonly url: string;
  readonly setup: NatsSetup;
  /** Connects with a principal's generated `.creds` file and its inbox prefix. */
  connectCreds(principal: string, inboxPrefix: string): Promise<NatsConnection>;
  /** Connects with a user JWT and the seed of its nkey (how an agent connects). */
  connectJwt(jwt: string, seed: Uint8Array, inboxPrefix: string): Promise<NatsConnection>;
  stop(): Promise<void>;
}

/**
 * Generates a setup into `<tmp>/generated`, puts the committed deploy/nats/nats-server.conf
 * beside it (its `include "./generated/auth.conf"` then resolves as in a deployment) and starts
 * `nats-server` on free ports with its store in the temp dir. `libs/testing`'s spawner cannot be
 * used: it probes readiness with an anonymous connection, which operator mode refuses.
 */
export async function startAuthedServer(env: string): Promise<AuthedServer> {
  const dir = await makeTempDir('nats-auth');
  const setup = await generateNatsSetup({ dir: join(dir, 'generated'), env });
  const conf = join(dir, 'nats-server.conf');
  // The one change to the committed file: the store goes to the temp dir (nats-server refuses
  // `-sd` together with a `store_dir` in the file).
  const committed = await readFile(DEPLOY_CONF, 'utf8');
  const storeDir = join(dir, 'store');
  const text = committed.replace(/store_dir: ".*"/, `store_dir: ${JSON.stringify(storeDir)}`);
  if (text === committed) throw new Error(`no store_dir in ${DEPLOY_CONF}`);
  await writeFile(conf, text);
  const port = await getFreePort();
  const monitorPort = await getFreePort();
  const child = spawn(
    'nats-server',
    ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `nats://127.0.0.1:${port}`;

  const connectCreds = async (principal: string, inboxPrefix: string): Promise<NatsConnection> => {
    const path = setup.creds[principal];
    if (path === undefined) throw new Error(`no creds for ${principal}`);
    const creds = await readFile(path);
    return connect({
      servers: url,
      authenticator: credsAuthenticator(creds),
      inboxPrefix,
      reconnect: false,
      name: principal,
    });
  };
  const connectJwt = (
    jwt: string,
    seed: Uint8Array,
    inboxPrefix: string,
  ): Promise<NatsConnection> =>
    connect({
      servers: url,
      authenticator: jwtAuthenticator(jwt, seed),
      inboxPrefix,
      reconnect: false,
    });

  await waitReady(
    child,
    () => connectCreds('trace-collector', '_INBOX_svc_trace-collector'),
    () => output,
  );
  return {
    url,
    setup,
    connectCreds,
    connectJwt,
    async stop() {
      await terminate(child);
      await removeTempDir(dir);
    },
  };
}

async function waitReady(
  child: ChildProcess,
  probe: () => Promise<NatsConnection>,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited:\n${output()}`);
    try {
      const nc = await probe();
      const ready = nc.info?.jetstream === true;
      await nc.close();
      if (ready) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  await terminate(child);
  throw new Error(`nats-server was not ready within 10 s:\n${output()}`);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}
