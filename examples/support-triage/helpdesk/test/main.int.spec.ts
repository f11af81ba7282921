import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { makeTempDir, removeTempDir, waitFor } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, API_TOKEN } from './harness.js';

// The process as `npm run build` ships it (like the e2e tests, this runs the built dist/).
const MAIN = resolve(
  import.meta.dirname,
  '../../../../dist/examples/support-triage/helpdesk/main.js',
);

interface Run {
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Run = {
    stdout: '',
    stderr: '',
    exit: new Promise((done) =>
      child.once('exit', (code) => {
        done(code);
      }),
    ),
    kill: (signal) => child.kill(signal),
  };
  child.stdout.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  return result;
}

describe('helpdesk process (main.js)', () => {
  let dataDir: string;
  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    dataDir = await makeTempDir('helpdesk-main');
  });
  afterAll(async () => {
    await removeTempDir(dataDir);
  });

  it('listens on a free port, serves, and exits 0 on SIGTERM; its logs hold no token', async () => {
    const helpdesk = run({
      HELPDESK_PORT: '0',
      HELPDESK_DATA_DIR: dataDir,
      HELPDESK_API_TOKEN: API_TOKEN,
      HELPDESK_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const port = await waitFor(
      () => {
        const line = helpdesk.stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
        return line && (JSON.parse(line) as { port: number }).port;
      },
      { message: 'the listening line' },
    );
    const answer = await fetch(`http://127.0.0.1:${port}/tickets/1`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(answer.status).toBe(200);
    await fetch(`http://127.0.0.1:${port}/tickets/1`, {
      headers: { authorization: `Bearer ${API_TOKEN}x` },
    });

    helpdesk.kill('SIGTERM');
    expect(await helpdesk.exit).toBe(0);
    expect(helpdesk.stdout).toContain('"msg":"stopped"');
    expect(helpdesk.stdout).not.toContain(API_TOKEN);
    expect(helpdesk.stdout).not.toContain(ADMIN_TOKEN);
    expect(existsSync(resolve(dataDir, 'helpdesk.json'))).toBe(true);
  });

  it('names every missing or invalid variable and exits 1', async () => {
    const helpdesk = run({
      HELPDESK_DATA_DIR: dataDir,
      HELPDESK_PORT: 'eighty',
      HELPDESK_ADMIN_TOKEN: 'short',
    });
    expect(await helpdesk.exit).toBe(1);
    const line = JSON.parse(helpdesk.stderr.trim()) as { problems: string[] };
    expect(line.problems).toEqual([
      expect.stringMatching(/^HELPDESK_PORT: /),
      'HELPDESK_API_TOKEN: required',
      'HELPDESK_ADMIN_TOKEN: at least 16 characters',
    ]);
    expect(helpdesk.stderr).not.toContain('short');
  });
});
