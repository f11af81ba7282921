/**
 * Runs the conformance suite (./conformance-suite.ts) against each engine:
 * - embedded chDB in a fresh temp directory, always;
 * - a ClickHouse server when WARDEN_CLICKHOUSE_URL is set (a fresh database per run, dropped after);
 *   WARDEN_CLICKHOUSE_USER / WARDEN_CLICKHOUSE_PASSWORD give credentials.
 * Then checks who may open an embedded data directory.
 *
 * chDB allows one data directory per process: this file has one open at a time and closes it in
 * afterAll. Vitest's `forks` pool (the default) runs each file in its own process; under `threads`
 * files would share a process and collide, so this project must stay on forks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStoreErrorCode, openEventStore, type EventStoreConfig } from '../src/index.js';
import { findMigrationsDir } from '../src/migrations.js';
import { describeConformance, expectStoreError } from './conformance-suite.js';

const repoRoot = join(findMigrationsDir(), '..', '..');

describeConformance('event store on embedded chDB', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-event-store-'));
  return Promise.resolve({
    open: (options = {}) => openEventStore({ kind: 'embedded', dataDir, ...options }),
    cleanup: () => {
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
      return Promise.resolve();
    },
  });
});

const serverUrl = process.env.WARDEN_CLICKHOUSE_URL;
const describeServer = serverUrl === undefined ? describe.skip : describe;
describeServer('on a ClickHouse server (set WARDEN_CLICKHOUSE_URL to run)', () => {
  describeConformance('event store on a ClickHouse server', async () => {
    const credentials = {
      username: process.env.WARDEN_CLICKHOUSE_USER,
      password: process.env.WARDEN_CLICKHOUSE_PASSWORD,
    };
    const database = `warden_conformance_${randomUUID().replaceAll('-', '')}`;
    const admin = createClient({ url: serverUrl, ...credentials });
    await admin.command({ query: `CREATE DATABASE ${database}` });
    const config = (options: { migrationsDir?: string }): EventStoreConfig => ({
      kind: 'server',
      url: serverUrl ?? '',
      database,
      ...credentials,
      ...options,
    });
    return {
      open: (options = {}) => openEventStore(config(options)),
      cleanup: async () => {
        await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
        await admin.close();
      },
    };
  });
});

/**
 * deploy/clickhouse/schema.sql is the schema every migration adds up to, as ClickHouse prints it,
 * committed so a migration's effect shows up in review. Regenerate after adding a migration:
 *   WARDEN_UPDATE_SCHEMA=1 npx vitest run --project event-store conformance
 */
describe('the committed schema (deploy/clickhouse/schema.sql)', () => {
  it('is what the migrations produce', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-event-store-schema-'));
    const store = await openEventStore({ kind: 'embedded', dataDir });
    try {
      await store.migrate();
      const tables = await store.readOnlyQuery(
        'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name',
      );
      const statements: string[] = [];
      for (const { name } of tables.rows) {
        const shown = await store.readOnlyQuery(`SHOW CREATE TABLE ${String(name)}`);
        statements.push(`${String(shown.rows[0]?.statement)};`);
      }
      const schema = [SCHEMA_HEADER, ...statements].join('\n\n') + '\n';
      const file = join(findMigrationsDir(), 'schema.sql');
      if (process.env.WARDEN_UPDATE_SCHEMA === '1') writeFileSync(file, schema);
      expect(
        existsSync(file) ? readFileSync(file, 'utf8') : '',
        'run with WARDEN_UPDATE_SCHEMA=1 to regenerate',
      ).toBe(schema);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  });
});

const SCHEMA_HEADER = `-- GENERATED: the schema all migrations in this directory add up to, as ClickHouse prints it
-- (SHOW CREATE on chDB). Not a migration and never executed. Do not edit: add a numbered
-- migration, then run WARDEN_UPDATE_SCHEMA=1 npx vitest run --project event-store conformance`;

describe('embedded data directory ownership', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-event-store-lock-'));
    dirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const child of children) {
      child.stdin?.end();
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  /** Starts a node process that opens `dir` with chDB and holds it until its stdin closes. */
  async function holdInAnotherProcess(dir: string): Promise<ChildProcess> {
    const script = [
      "import { Session } from 'chdb';",
      'const session = new Session(process.argv[1]);',
      "process.stdout.write('ready\\n');",
      'process.stdin.resume();',
      "process.stdin.on('end', () => { session.close(); process.exit(0); });",
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        reject(new Error(`the holder exited early with ${String(code)}`));
      });
      child.stdout.once('data', () => {
        resolve();
      });
    });
    return child;
  }

  it('refuses a directory another process holds, naming the collector', async () => {
    const dir = newDir();
    const holder = await holdInAnotherProcess(dir);
    const error = await expectStoreError(
      openEventStore({ kind: 'embedded', dataDir: dir }),
      EventStoreErrorCode.DataDirLocked,
    );
    expect(error.message).toContain(`pid ${String(holder.pid)}`);
    expect(error.message).toContain('trace collector');
    expect(error).toMatchObject({ retryable: true });
  });

  it('refuses a second directory in the same process until the first is closed', async () => {
    const first = await openEventStore({ kind: 'embedded', dataDir: newDir() });
    const second = newDir();
    await expectStoreError(
      openEventStore({ kind: 'embedded', dataDir: second }),
      EventStoreErrorCode.DataDirConflict,
    );
    await first.close();
    await expectStoreError(first.count(), EventStoreErrorCode.Closed);
    const reopened = await openEventStore({ kind: 'embedded', dataDir: second });
    await reopened.ping();
    await reopened.close();
  });
});
