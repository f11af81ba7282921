import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HumanView } from '@warden/contracts';
import { makeTempDir, removeTempDir } from '@warden/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureBootstrapAdmin } from './bootstrap-admin.js';
import type { HumanRegistry } from './human-registry.js';

type Humans = Pick<HumanRegistry, 'hasActiveAdmin' | 'find' | 'create'>;

/** An in-memory stand-in for the human registry, recording what it was asked to create. */
function fakeHumans(existing: HumanView[] = []) {
  const created: { humanId: string; roles: readonly string[]; secret: string }[] = [];
  const humans: Humans = {
    hasActiveAdmin: () =>
      Promise.resolve(existing.some((h) => h.status === 'active' && h.roles.includes('admin'))),
    find: (humanId) => Promise.resolve(existing.find((h) => h.human_id === humanId)),
    create: (humanId, roles, secret) => {
      created.push({ humanId, roles, secret });
      const human: HumanView = {
        human_id: humanId,
        roles: [...roles],
        status: 'active',
        registered_at: '2026-01-01T00:00:00.000000Z',
        updated_at: '2026-01-01T00:00:00.000000Z',
      };
      return Promise.resolve({ created: true, human });
    },
  };
  return { humans, created };
}

function captureLogger() {
  const lines: string[] = [];
  const log = (obj: object, msg?: string) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('bootstrap');
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('ensureBootstrapAdmin', () => {
  it('creates the admin with the configured secret, and never logs it', async () => {
    const { humans, created } = fakeHumans();
    const { logger, lines } = captureLogger();
    const secret = 'a-configured-secret-of-some-length';
    const outcome = await ensureBootstrapAdmin(humans, { humanId: 'admin', secret }, logger);
    expect(outcome).toBe('created');
    expect(created).toEqual([{ humanId: 'admin', roles: ['admin'], secret }]);
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('writes a new secret to the file (0600, parent directories made) and uses it', async () => {
    const { humans, created } = fakeHumans();
    const { logger, lines } = captureLogger();
    const file = join(dir, 'a', 'b', 'admin.secret');
    expect(await ensureBootstrapAdmin(humans, { humanId: 'admin', secretFile: file }, logger)).toBe(
      'created',
    );
    const written = (await readFile(file, 'utf8')).trim();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(created[0]?.secret).toBe(written);
    expect(lines.join('\n')).not.toContain(written);
    expect(lines.join('\n')).toContain(file);
  });

  it('reuses the secret a file already holds', async () => {
    const file = join(dir, 'admin.secret');
    await ensureBootstrapAdmin(
      fakeHumans().humans,
      { humanId: 'admin', secretFile: file },
      captureLogger().logger,
    );
    const first = await readFile(file, 'utf8');
    const { humans, created } = fakeHumans();
    await ensureBootstrapAdmin(
      humans,
      { humanId: 'admin', secretFile: file },
      captureLogger().logger,
    );
    expect(`${created[0]?.secret ?? ''}\n`).toBe(first);
  });

  it('warns which variable to set when there is no secret, and carries on', async () => {
    const { humans, created } = fakeHumans();
    const { logger, lines } = captureLogger();
    expect(await ensureBootstrapAdmin(humans, { humanId: 'admin' }, logger)).toBe('no_secret');
    expect(created).toEqual([]);
    expect(lines.join('\n')).toContain('IDENTITY_BOOTSTRAP_ADMIN_SECRET');
  });

  it('does nothing when an active admin exists', async () => {
    const { humans, created } = fakeHumans([
      {
        human_id: 'root',
        roles: ['admin'],
        status: 'active',
        registered_at: '2026-01-01T00:00:00.000000Z',
        updated_at: '2026-01-01T00:00:00.000000Z',
      },
    ]);
    const outcome = await ensureBootstrapAdmin(
      humans,
      { humanId: 'admin', secret: 'x'.repeat(20) },
      captureLogger().logger,
    );
    expect(outcome).toBe('admin_exists');
    expect(created).toEqual([]);
  });

  it('refuses an admin id that is not a valid id', async () => {
    await expect(
      ensureBootstrapAdmin(fakeHumans().humans, { humanId: 'Ad.min' }, captureLogger().logger),
    ).rejects.toThrow(/IDENTITY_BOOTSTRAP_ADMIN/);
  });
});
