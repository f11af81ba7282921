import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStoreErrorCode, isEventStoreError } from './event-store.errors.js';
import {
  checksumOf,
  findMigrationsDir,
  loadMigrations,
  planMigrations,
  type Migration,
} from './migrations.js';

const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-migrations-spec-'));
  temps.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isEventStoreError(error) ? error.code : `not an EventStoreError: ${String(error)}`;
  }
}

describe('the migrations in deploy/clickhouse', () => {
  it('are found from this module and split into statements', () => {
    const migrations = loadMigrations(findMigrationsDir());
    expect(migrations.map((m) => [m.version, m.id])).toEqual([
      [1, '0001_events'],
      [2, '0002_views'],
      [3, '0003_cost_views'],
      [4, '0004_run_views'],
      [5, '0005_checkpoints'],
      [6, '0006_shadow_views'],
    ]);
    expect(migrations[0]?.statements).toHaveLength(1);
    expect(migrations[0]?.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS events/);
    expect(migrations[1]?.statements.map((s) => /VIEW (\w+)/.exec(s)?.[1])).toEqual([
      'tool_calls',
      'runs',
      'approvals',
      'policy_changes',
      'cost_daily',
    ]);
    expect(migrations[2]?.statements.map((s) => /VIEW (\w+)/.exec(s)?.[1])).toEqual([
      'run_costs',
      'workflow_daily_costs',
      'agent_daily_spend',
      'halted_runs_by_reason',
    ]);
    expect(migrations[3]?.statements.map((s) => /VIEW (\w+)/.exec(s)?.[1])).toEqual([
      'run_overview',
      'run_denials',
    ]);
    expect(migrations[4]?.statements).toHaveLength(1);
    expect(migrations[4]?.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS checkpoints/);
    expect(migrations[5]?.statements.map((s) => /VIEW (\w+)/.exec(s)?.[1])).toEqual([
      'policy_shadow_periods',
      'shadow_divergences',
    ]);
  });

  it('only use statements that can be re-run', () => {
    for (const migration of loadMigrations(findMigrationsDir())) {
      for (const statement of migration.statements) {
        expect(statement, `${migration.id}: ${statement.slice(0, 60)}`).toMatch(
          /^(CREATE (TABLE|DATABASE|MATERIALIZED VIEW) IF NOT EXISTS|CREATE OR REPLACE VIEW|ALTER TABLE \w+ (ADD|DROP) (COLUMN|INDEX) IF (NOT )?EXISTS)/,
        );
      }
    }
  });
});

describe('findMigrationsDir', () => {
  it('walks up from a nested directory', () => {
    const root = tempDir();
    mkdirSync(join(root, 'deploy', 'clickhouse'), { recursive: true });
    mkdirSync(join(root, 'libs', 'x', 'dist'), { recursive: true });
    expect(findMigrationsDir(join(root, 'libs', 'x', 'dist'))).toBe(
      join(root, 'deploy', 'clickhouse'),
    );
  });

  it('fails clearly when there is none', () => {
    expect(codeOf(() => findMigrationsDir(tempDir()))).toBe(EventStoreErrorCode.MigrationFailed);
  });
});

describe('loadMigrations', () => {
  it('ignores files that are not numbered migrations', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, '0001_a.sql'),
      'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory;',
    );
    writeFileSync(join(dir, 'README.md'), '# notes');
    writeFileSync(join(dir, 'schema.sql'), 'SELECT 1');
    expect(loadMigrations(dir).map((m) => m.id)).toEqual(['0001_a']);
  });

  it.each([
    ['a duplicated version', { '0001_a.sql': 'SELECT 1', '0001_b.sql': 'SELECT 2' }],
    ['a file without a statement', { '0001_a.sql': '-- nothing yet\n' }],
    ['an unterminated string', { '0001_a.sql': "SELECT 'oops" }],
  ])('refuses %s', (_case, files) => {
    const dir = tempDir();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect(codeOf(() => loadMigrations(dir))).toBe(EventStoreErrorCode.MigrationFailed);
  });

  it('refuses a missing directory', () => {
    expect(codeOf(() => loadMigrations(join(tempDir(), 'absent')))).toBe(
      EventStoreErrorCode.MigrationFailed,
    );
  });
});

describe('checksumOf', () => {
  it('does not change with line endings', () => {
    expect(checksumOf('SELECT 1;\r\nSELECT 2;\r\n')).toBe(checksumOf('SELECT 1;\nSELECT 2;\n'));
    expect(checksumOf('SELECT 1;')).not.toBe(checksumOf('SELECT 2;'));
  });
});

describe('planMigrations', () => {
  const migration = (version: number, checksum: string): Migration => ({
    version,
    id: `000${version}_m`,
    checksum,
    statements: ['SELECT 1'],
  });
  const files = [migration(1, 'a'), migration(2, 'b'), migration(3, 'c')];

  it('applies what is not recorded, in order', () => {
    const plan = planMigrations(files, [{ version: 1, name: '0001_m', checksum: 'a' }]);
    expect(plan.pending.map((m) => m.version)).toEqual([2, 3]);
    expect(plan.alreadyApplied.map((m) => m.version)).toEqual([1]);
  });

  it('accepts a version recorded twice by concurrent migrators', () => {
    const applied = [
      { version: 1, name: '0001_m', checksum: 'a' },
      { version: 1, name: '0001_m', checksum: 'a' },
    ];
    expect(planMigrations(files, applied).alreadyApplied).toHaveLength(1);
  });

  it('ignores recorded versions it has no file for (an older binary during a rollout)', () => {
    const plan = planMigrations(files.slice(0, 1), [
      { version: 1, name: '0001_m', checksum: 'a' },
      { version: 9, name: '0009_newer', checksum: 'z' },
    ]);
    expect(plan).toMatchObject({ pending: [], alreadyApplied: [{ version: 1 }] });
  });

  it('refuses an applied migration whose file changed', () => {
    const run = () => planMigrations(files, [{ version: 2, name: '0002_m', checksum: 'edited' }]);
    expect(codeOf(run)).toBe(EventStoreErrorCode.MigrationChecksumMismatch);
    expect(run).toThrow(/0002_m.*never be edited/);
  });
});
