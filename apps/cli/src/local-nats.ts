import { spawn, spawnSync } from 'node:child_process';
import { stopChild } from './child-process.js';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { connectNats, isMessagingError } from '@warden/messaging';
import { CliError } from './output.js';

/** A NATS server `warden up` started for itself; stopped when Warden stops. */
export interface LocalNats {
  readonly url: string;
  readonly started: boolean;
  stop(): Promise<void>;
}

/**
 * Makes sure a NATS server with JetStream answers at `url`. When nothing answers on a loopback
 * address and `nats-server` is installed, starts one with its store under `stateDir`; otherwise
 * explains how to get one.
 */
export async function ensureNats(url: string, stateDir: string): Promise<LocalNats> {
  if (await answers(url)) return { url, started: false, stop: () => Promise.resolve() };
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    throw new CliError(
      `nothing answers at ${url}`,
      'Check --nats (or NATS_URL), or start that NATS server with JetStream (-js).',
    );
  }
  if (spawnSync('nats-server', ['--version']).error) {
    throw new CliError(
      `nothing answers at ${url} and nats-server is not installed`,
      'Install it (Debian/Ubuntu: `apt-get install nats-server`) or run a NATS server with JetStream and pass --nats <url>.',
    );
  }
  const store = join(stateDir, 'nats');
  mkdirSync(store, { recursive: true });
  const log = openSync(join(stateDir, 'nats-server.log'), 'a');
  const child = spawn(
    'nats-server',
    ['-a', '127.0.0.1', '-p', port || '4222', '-js', '-sd', store],
    {
      stdio: ['ignore', log, log],
    },
  );
  for (let attempt = 0; attempt < 50; attempt++) {
    if (child.exitCode !== null) break;
    if (await answers(url)) return { url, started: true, stop: () => stopChild(child) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new CliError(
    `nats-server did not start at ${url}`,
    `See ${join(stateDir, 'nats-server.log')}.`,
  );
}

/**
 * Whether a NATS server answers at `url`. `connectNats` already refuses a server without JetStream
 * (its INFO says so, no extra round trip): that is a server to fix, not one to start.
 */
async function answers(url: string): Promise<boolean> {
  try {
    await (await connectNats({ servers: url, name: 'warden-up-probe' })).close();
    return true;
  } catch (error) {
    if (isMessagingError(error) && error.code === 'jetstream_unavailable') {
      throw new CliError(
        `the NATS server at ${url} has JetStream disabled`,
        'Restart it with -js (JetStream), or point --nats at one that has it.',
      );
    }
    return false;
  }
}
