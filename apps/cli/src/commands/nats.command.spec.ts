import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../output.js';
import { natsCommand } from './nats.command.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('nats-command');
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('warden nats setup', () => {
  it('writes a setup, with the broker signing seed readable by its owner only', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await natsCommand().parseAsync(['setup', '--dir', dir, '--env', 'prod'], { from: 'user' });
    write.mockRestore();
    const files = await readdir(dir);
    expect(files).toEqual(
      expect.arrayContaining(['auth.conf', 'creds', 'identity-broker.account-signing.seed']),
    );
    expect((await stat(join(dir, 'identity-broker.account-signing.seed'))).mode & 0o777).toBe(
      0o600,
    );
    expect((await readdir(join(dir, 'creds'))).sort()).toContain('policy-decision.creds');
  });

  it('refuses to replace an existing setup without --force', async () => {
    await expect(
      natsCommand().parseAsync(['setup', '--dir', dir], { from: 'user' }),
    ).rejects.toBeInstanceOf(CliError);
  });
});
