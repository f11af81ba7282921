import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getFreePort, getFreePortRange, waitFor } from '@warden/testing';

/** The repository root, for the built apps under dist/. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The built entry of an app: end-to-end tests run what `npm run build` produced, as an SRE would. */
export function appMain(app: string): string {
  const path = `${ROOT}dist/apps/${app}/main.js`;
  if (!existsSync(path))
    throw new Error(`${path} is missing: run \`npm run build\` first (npm test does)`);
  return path;
}

/**
 * Runs the built `warden` CLI once against an env (`--env`, `--nats` appended), with `env`
 * added to the environment (a human's `WARDEN_TOKEN`, a credentials file), and returns its exit
 * status and output.
 */
export function runWarden(
  target: { env: string; natsUrl: string },
  args: readonly string[],
  env: Record<string, string> = {},
  /** What it reads on stdin (`warden secrets set … --from-stdin`). */
  input?: string,
): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [appMain('cli'), ...args, '--env', target.env, '--nats', target.natsUrl],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ...env },
      ...(input === undefined ? {} : { input }),
    },
  );
}

/** A service started as its own process. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  /** SIGKILL: no shutdown hooks, no flush, no acks. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `node dist/apps/<app>/main.js` with `env` and waits until its /readyz answers 200. */
export async function startService(
  app: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await getFreePort();
  const child = spawn(process.execPath, [appMain(app)], {
    env: { ...process.env, ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${app} exited with ${child.exitCode}:\n${output}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
    },
    { timeoutMs: 30_000, message: `${app} ready` },
  );
  return {
    child,
    url,
    output: () => output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `warden up` started by a test, with everything it printed so far. */
export interface WardenUp {
  readonly child: ChildProcess;
  output(): string;
  /**
   * Resolves once the output contains `text`. Fails at once, with the output, when `warden up`
   * exits first, and quotes the output at the time of the timeout otherwise.
   */
  waitForOutput(text: string, timeoutMs: number): Promise<void>;
  /** SIGINT (its graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
}

/** How many HTTP ports `warden up --http-port N` listens on: N to N+4, one per service. */
const UP_HTTP_PORTS = 5;

/**
 * Starts the built `warden up` on a test's env, NATS, data and state directories, with service
 * logs at error level so the output is what a person reads.
 */
export async function startWardenUp(
  target: { env: string; natsUrl: string; stateDir: string },
  flags: readonly string[] = [],
): Promise<WardenUp> {
  // Five ports in a row: one taken by a parallel test would stop warden up from starting.
  const httpPort = await getFreePortRange(UP_HTTP_PORTS);
  const child = spawn(
    process.execPath,
    [
      appMain('cli'),
      'up',
      ...['--env', target.env, '--nats', target.natsUrl],
      ...['--data', `${target.stateDir}/data`, '--state', target.stateDir],
      ...['--http-port', String(httpPort)],
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    child,
    output: () => output,
    waitForOutput: async (text, timeoutMs) => {
      const exitedFirst = exited.then(() => {
        throw new Error(`warden up exited (${child.exitCode ?? child.signalCode}) first`);
      });
      try {
        await Promise.race([
          waitFor(() => output.includes(text), { timeoutMs, message: `"${text}" from warden up` }),
          exitedFirst,
        ]);
      } catch (error) {
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}; it printed:\n${output}`,
        );
      } finally {
        exitedFirst.catch(() => undefined);
      }
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
