import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '@warden/testing';

/** A built app (`dist/apps/<app>/main.js`) the bench started. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Its log lines (JSON), when started with `logs: true`; complete once `stop` resolved. */
  readonly logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts `node dist/apps/<app>/main.js` (the bench runs from dist/test/bench/ and depends on no
 * app's code) with `env` and a free health port, and resolves once its /readyz answers 200.
 */
export async function startApp(
  app: string,
  env: Record<string, string>,
  options: { logs?: boolean } = {},
): Promise<AppProcess> {
  const port = await getFreePort();
  const main = fileURLToPath(new URL(`../../apps/${app}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', options.logs === true ? 'pipe' : 'ignore', 'inherit'],
  });
  const logs: string[] = [];
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => logs.push(line));
  }
  await waitReady(child, [`http://127.0.0.1:${port}`], app);
  return { child, logs, stop: () => stopChild(child) };
}

/** Polls each URL's /readyz every 100 ms until all answer 200; throws if `child` exits or 60 s pass. */
export async function waitReady(child: ChildProcess, urls: string[], name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}`);
    if (attempt > 600) throw new Error(`${name} was not ready after 60 s`);
    const ready = await Promise.all(
      urls.map((url) =>
        fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      ),
    );
    if (ready.every(Boolean)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, and resolves once the process has exited (at once if it already has). */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}
