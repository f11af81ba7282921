import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getFreePort, waitFor } from '@warden/testing';

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
