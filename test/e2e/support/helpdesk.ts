import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitFor } from '@warden/testing';
import { ROOT } from './processes.js';

/** The built reference helpdesk (examples/support-triage/helpdesk) as its own process. */
export interface HelpdeskProcess {
  readonly url: string;
  /** Everything it logged (JSON lines). */
  output(): string;
  /** A call of its admin API (faults, the write log). */
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts the helpdesk on a free port with these tokens and data dir; resolves once it listens. */
export async function startHelpdeskProcess(options: {
  apiToken: string;
  adminToken: string;
  dataDir: string;
}): Promise<HelpdeskProcess> {
  const main = `${ROOT}dist/examples/support-triage/helpdesk/main.js`;
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      HELPDESK_PORT: '0',
      HELPDESK_API_TOKEN: options.apiToken,
      HELPDESK_ADMIN_TOKEN: options.adminToken,
      HELPDESK_DATA_DIR: options.dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const port = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`helpdesk exited:\n${output}`);
      const match = /"msg":"listening"[^\n]*"port":(\d+)/.exec(output);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
    { timeoutMs: 15_000, message: 'helpdesk listening' },
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    output: () => output,
    admin: async (method, path, body) => {
      const response = await fetch(`${url}/_admin${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return response.json();
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
