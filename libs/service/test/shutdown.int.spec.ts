import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The real signal path: a tiny service (fixtures/tiny-service.ts) in its own `node` process,
// compiled on load by swc, receiving real SIGTERM/SIGINT.
const register = new URL('./fixtures/swc-register.mjs', import.meta.url).href;
const fixture = fileURLToPath(new URL('./fixtures/tiny-service.ts', import.meta.url));

interface Tiny {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  waitFor(msg: string): Promise<Record<string, unknown>>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

function startTiny(env: Record<string, string>): Tiny {
  const child = spawn(
    process.execPath,
    ['--conditions=@warden/source', '--import', register, fixture],
    {
      env: { ...process.env, WARDEN_ENV: 'shutdown-int', HTTP_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts.filter((p) => p.trim() !== '')) {
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.msg === line['msg'])) waiter.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  return {
    child,
    lines,
    exited,
    waitFor: (msg) => {
      const seen = lines.find((line) => line['msg'] === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ msg, resolve });
        void exited.then((code) => {
          reject(new Error(`tiny exited (${String(code)}) before logging "${msg}": ${stderr}`));
        });
      });
    },
  };
}

const messages = (tiny: Tiny) => tiny.lines.map((line) => line['msg']);

describe('a service process receiving signals', () => {
  it('on SIGTERM turns not ready, runs its destroy hook to the end, and exits 0', async () => {
    const tiny = startTiny({ TINY_HOOK_MS: '1000' });
    const { url } = (await tiny.waitFor('started')) as { url: string };
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    tiny.child.kill('SIGTERM');
    await tiny.waitFor('flushing writer');
    // The destroy hook is still running: the probe already says not ready.
    const probe = await fetch(`${url}/readyz`);
    expect(probe.status).toBe(503);
    expect(await probe.json()).toMatchObject({ status: 'not_ready' });

    expect(await tiny.exited).toBe(0);
    const order = messages(tiny);
    expect(order.indexOf('writer flushed')).toBeGreaterThan(order.indexOf('flushing writer'));
    expect(order.at(-1)).toBe('shutdown complete');
  });

  it('exits 1 after the shutdown timeout, logging the hook that was still running', async () => {
    const tiny = startTiny({ TINY_HOOK_MS: 'hang', TINY_SHUTDOWN_TIMEOUT_MS: '500' });
    await tiny.waitFor('started');
    tiny.child.kill('SIGTERM');
    expect(await tiny.exited).toBe(1);
    expect(tiny.lines.at(-1)).toMatchObject({
      level: 'error',
      still_running: ['tiny (BatchWriter.onModuleDestroy)'],
    });
  });

  it('exits at once, non-zero, on a second signal', async () => {
    const tiny = startTiny({ TINY_HOOK_MS: 'hang' });
    await tiny.waitFor('started');
    tiny.child.kill('SIGTERM');
    await tiny.waitFor('flushing writer');
    tiny.child.kill('SIGTERM');
    expect(await tiny.exited).toBe(143);
    expect(String(tiny.lines.at(-1)?.['msg'])).toMatch(
      /^second SIGTERM during shutdown: exiting now; still running: tiny \(BatchWriter.onModuleDestroy\)/,
    );
  });

  it('refuses to start on invalid configuration, listing every problem, exit 1', async () => {
    const tiny = startTiny({ WARDEN_ENV: 'Prod', HTTP_PORT: 'eighty' });
    expect(await tiny.exited).toBe(1);
    const last = tiny.lines.at(-1);
    expect(last).toMatchObject({ level: 'fatal', code: 'config_invalid' });
    expect(String(last?.['msg'])).toMatch(
      /^tiny: invalid configuration:\n {2}- WARDEN_ENV: .*\n {2}- HTTP_PORT: /,
    );
  });
});
