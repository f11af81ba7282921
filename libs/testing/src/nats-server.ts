import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { getFreePort } from './ports.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { sleep } from './wait-for.js';

/** The NATS server every test uses unless `WARDEN_TEST_NATS_URL` names another one. */
export const DEFAULT_TEST_NATS_URL = 'nats://127.0.0.1:4222';

/** A NATS server with JetStream for one test file. */
export interface TestNats {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Whether this handle started the server (and `stop` will end it). */
  readonly spawned: boolean;
  /** Stops the server if this handle spawned it, and removes its store; otherwise does nothing. */
  stop(): Promise<void>;
}

/**
 * Returns a NATS server with JetStream: the one at `WARDEN_TEST_NATS_URL` (default
 * `nats://127.0.0.1:4222`) when it answers with JetStream enabled, otherwise a `nats-server` spawned
 * on a free port with its store in a temp dir. `stop` ends only what was spawned here.
 *
 * Tests share the running server and keep apart through their env names ({@link uniqueEnv}).
 */
export async function startNats(): Promise<TestNats> {
  const url = process.env.WARDEN_TEST_NATS_URL ?? DEFAULT_TEST_NATS_URL;
  if (await hasJetStream(url)) {
    return { url, spawned: false, stop: () => Promise.resolve() };
  }
  const server = await spawnNatsServer();
  return { url: server.url, spawned: true, stop: () => server.stop() };
}

/** Options of {@link spawnNatsServer}. */
export interface SpawnNatsServerOptions {
  /** Port to listen on; a free one by default. */
  port?: number;
  /** JetStream store directory; a new temp dir (removed by `stop`) by default. */
  storeDir?: string;
  /**
   * nats-server configuration text (accounts, users, limits), written to a file and passed with
   * `-c`. The address, port, `-js` and the store directory are still given on the command line
   * and take precedence.
   */
  config?: string;
  /** How long to wait for the server to accept connections with JetStream. Default 10 s. */
  readyTimeoutMs?: number;
}

/** A `nats-server` process owned by a test. */
export interface SpawnedNatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The process id of the current server process, or `undefined` while it is down. */
  readonly pid: number | undefined;
  /** Sends `signal` (default `SIGKILL`: a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and store (after `kill`, or stops it first). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes the temp dirs it created. */
  stop(): Promise<void>;
}

// Servers still running when the test process exits (a failed test skipped its afterAll) would
// outlive it and hold their ports: kill them on the way out. `exit` handlers must be synchronous.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** Kills `child` when the test process exits (shared by every server this library spawns). */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const server of running) server.kill('SIGKILL');
    });
  }
}

/**
 * Always spawns its own `nats-server -a 127.0.0.1 -p <port> -js -sd <dir>` (for tests that kill
 * or restart the server, or need a configuration file) and waits until it accepts connections
 * with JetStream enabled.
 */
export async function spawnNatsServer(
  options: SpawnNatsServerOptions = {},
): Promise<SpawnedNatsServer> {
  const ownDir = await makeTempDir('nats');
  const storeDir = options.storeDir ?? join(ownDir, 'store');
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  let configFile: string | undefined;
  if (options.config !== undefined) {
    configFile = join(ownDir, 'nats-server.conf');
    await writeFile(configFile, options.config);
  }

  let port = options.port ?? (await getFreePort());
  let child: ChildProcess | undefined;
  // A free port can be taken between the probe and the spawn: retry with another one, unless the
  // caller chose the port.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(port, storeDir, configFile, readyTimeoutMs);
      break;
    } catch (error) {
      const portTaken = error instanceof Error && /address already in use/i.test(error.message);
      if (!portTaken || options.port !== undefined || attempt >= 5) {
        await removeTempDir(ownDir);
        throw error;
      }
      port = await getFreePort();
    }
  }

  const url = `nats://127.0.0.1:${port}`;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const current = child;
    child = undefined;
    if (current) await terminate(current, signal);
  };
  return {
    url,
    port,
    storeDir,
    get pid() {
      return child?.pid;
    },
    kill,
    async restart() {
      await kill('SIGTERM');
      child = await launch(port, storeDir, configFile, readyTimeoutMs);
    },
    async stop() {
      await kill('SIGTERM');
      await removeTempDir(ownDir);
    },
  };
}

async function launch(
  port: number,
  storeDir: string,
  configFile: string | undefined,
  readyTimeoutMs: number,
): Promise<ChildProcess> {
  const args = [
    ...(configFile ? ['-c', configFile] : []),
    ...['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
  ];
  const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  // Keep the tail of the server's log to explain a failed start.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (spawnError) {
      throw new Error(
        `could not run nats-server (${spawnError.message}); install it (apt-get install nats-server) or set WARDEN_TEST_NATS_URL`,
      );
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server ${args.join(' ')} exited before it was ready:\n${output}`);
    }
    if (await hasJetStream(url)) return child;
    await sleep(50);
  }
  await terminate(child, 'SIGKILL');
  throw new Error(`nats-server at ${url} was not ready within ${readyTimeoutMs} ms:\n${output}`);
}

/** Sends `signal` (SIGKILL after 5 s) and resolves once `child` has exited. */
export function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** Whether a NATS server answers at `url` with JetStream enabled for the connecting account. */
export async function hasJetStream(url: string): Promise<boolean> {
  let nc;
  try {
    nc = await connect({ servers: url, timeout: 1_000, reconnect: false });
  } catch {
    return false;
  }
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}
