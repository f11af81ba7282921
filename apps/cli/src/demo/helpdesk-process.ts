import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { stopChild } from '../child-process.js';
import { keptSecret } from '../identity-state.js';
import { CliError } from '../output.js';

/** The built reference helpdesk, next to the CLI in dist/. */
const HELPDESK_MAIN = fileURLToPath(
  new URL('../../../examples/support-triage/helpdesk/main.js', import.meta.url),
);

/** How long the helpdesk may take to listen. */
const START_TIMEOUT_MS = 15_000;

/** The reference helpdesk's files under the state directory: tokens, data, where it listens. */
export interface HelpdeskState {
  readonly dir: string;
  /** The bearer token only the executor holds (`warden secrets set helpdesk/api-token`). */
  readonly apiToken: string;
  /** The token of its `/_admin` routes (faults, for the outage scenario). */
  readonly adminToken: string;
  /** Whether the tokens were made just now (the executor's secret must be set then). */
  readonly fresh: boolean;
}

/** Where the helpdesk state of `env` lives under `stateDir`. */
export function helpdeskDir(stateDir: string, env: string): string {
  return resolve(stateDir, env, 'helpdesk');
}

/** The helpdesk state of `env` under `stateDir`, making its tokens the first time. */
export function helpdeskState(stateDir: string, env: string): HelpdeskState {
  const dir = helpdeskDir(stateDir, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = !existsSync(join(dir, 'api.token'));
  return {
    dir,
    apiToken: keptSecret(join(dir, 'api.token')),
    adminToken: keptSecret(join(dir, 'admin.token')),
    fresh,
  };
}

/** A helpdesk process `warden up` started. */
export interface HelpdeskProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts the reference helpdesk (examples/support-triage/helpdesk) as its own process: it is the
 * "real system" the agent acts on, not part of Warden. Its data stays under the state directory,
 * so a second `warden up` finds the tickets as the first left them. Its URL is written to `url`
 * there, for `warden demo`.
 */
export async function startHelpdeskProcess(state: HelpdeskState): Promise<HelpdeskProcess> {
  if (!existsSync(HELPDESK_MAIN)) {
    throw new CliError(`${HELPDESK_MAIN} is missing`, 'Run `npm run build` first.');
  }
  const child = spawn(process.execPath, [HELPDESK_MAIN], {
    env: {
      ...process.env,
      HELPDESK_PORT: '0',
      HELPDESK_API_TOKEN: state.apiToken,
      HELPDESK_ADMIN_TOKEN: state.adminToken,
      HELPDESK_DATA_DIR: join(state.dir, 'data'),
    },
    // The IPC channel is how the helpdesk notices that warden up died (its main.ts stops then).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { stdout, stderr } = child;
  if (stdout === null || stderr === null) throw new Error('the helpdesk was spawned with pipes');
  // Its JSON request log is for debugging; keep the tail for an error message.
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-8192));
  stdout.on('data', keep);
  stderr.on('data', keep);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CliError('the reference helpdesk did not start within 15 s', tail));
    }, START_TIMEOUT_MS);
    const watch = () => {
      const match = /"msg":"listening"[^\n]*"port":(\d+)/.exec(tail);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      stdout.off('data', watch);
      resolvePort(Number(match[1]));
    };
    stdout.on('data', watch);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new CliError(`the reference helpdesk exited with code ${String(code)}`, tail));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(state.dir, 'url'), `${url}\n`, { mode: 0o600 });
  return { url, stop: () => stopChild(child) };
}

/** Makes the helpdesk answer its next `count` ticket requests with a 500 (its admin API). */
export async function failHelpdesk(url: string, adminToken: string, count: number): Promise<void> {
  const response = await fetch(`${url}/_admin/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fail_next: count, status: 500 }),
  });
  if (!response.ok) {
    throw new CliError(`the helpdesk refused the fault plan: ${response.status}`);
  }
}
