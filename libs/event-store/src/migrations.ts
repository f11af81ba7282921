import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';
import { splitSqlStatements } from './sql-text.js';

/** `0001_events.sql`: a four-digit version, an underscore, a snake_case name. */
export const MIGRATION_FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Where the migration files live, relative to the repository root. */
export const MIGRATIONS_RELATIVE_DIR = join('deploy', 'clickhouse');

/** One numbered SQL file, read and split. */
export interface Migration {
  version: number;
  /** The file name without `.sql`, e.g. `0001_events`: what `migrate()` reports. */
  id: string;
  /** SHA-256 (hex) of the file with line endings normalised, so a CRLF checkout is not an edit. */
  checksum: string;
  statements: string[];
}

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Finds `deploy/clickhouse` by walking up from `start` (by default this module's own directory,
 * which works from `src/` under vitest and from `dist/` once built).
 *
 * @throws EventStoreError `migration_failed` when no ancestor has it.
 */
export function findMigrationsDir(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, MIGRATIONS_RELATIVE_DIR);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationFailed,
        `Cannot find ${MIGRATIONS_RELATIVE_DIR} above ${start}; pass migrationsDir to openEventStore.`,
      );
    }
    dir = parent;
  }
}

/** The checksum recorded for a migration file's text. */
export function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/**
 * Reads every `NNNN_name.sql` in `dir`, in version order. Other files (README, generated schema)
 * are ignored.
 *
 * @throws EventStoreError `migration_failed` for an unreadable directory, a duplicated version, a
 * file with no statement or with an unterminated string or comment.
 */
export function loadMigrations(dir: string): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new EventStoreError(
      EventStoreErrorCode.MigrationFailed,
      `Cannot read the migrations directory ${dir}`,
      { cause: error },
    );
  }
  const migrations: Migration[] = [];
  for (const fileName of names.sort()) {
    const match = MIGRATION_FILE_PATTERN.exec(fileName);
    if (match === null) continue;
    const text = readFileSync(join(dir, fileName), 'utf8');
    let statements: string[];
    try {
      statements = splitSqlStatements(text);
    } catch (error) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationFailed,
        `${fileName}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (statements.length === 0) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationFailed,
        `${fileName} has no statement`,
      );
    }
    migrations.push({
      version: Number(match[1]),
      id: fileName.slice(0, -'.sql'.length),
      checksum: checksumOf(text),
      statements,
    });
  }
  for (let i = 1; i < migrations.length; i++) {
    const previous = migrations[i - 1];
    const current = migrations[i];
    if (previous !== undefined && current !== undefined && previous.version === current.version) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationFailed,
        `${previous.id} and ${current.id} share version ${current.version}`,
      );
    }
  }
  return migrations;
}

/** What {@link planMigrations} decided. */
export interface MigrationPlan {
  pending: Migration[];
  alreadyApplied: Migration[];
}

/**
 * Compares the files with what `schema_migrations` records. A version recorded more than once
 * (two processes migrating a server at the same moment: every statement is idempotent, so both
 * succeed) is fine as long as the checksums agree. A recorded version with no file is ignored, so
 * a binary one release behind can still start against a newer schema during a rolling deploy.
 *
 * @throws EventStoreError `migration_checksum_mismatch` when an applied file was edited.
 */
export function planMigrations(
  migrations: readonly Migration[],
  applied: readonly AppliedMigration[],
): MigrationPlan {
  const plan: MigrationPlan = { pending: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const rows = applied.filter((row) => row.version === migration.version);
    if (rows.length === 0) {
      plan.pending.push(migration);
      continue;
    }
    const changed = rows.find((row) => row.checksum !== migration.checksum);
    if (changed !== undefined) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationChecksumMismatch,
        `Migration ${migration.id} was applied as ${changed.name} with checksum ${changed.checksum}, ` +
          `but the file now has checksum ${migration.checksum}. Applied migrations must never be ` +
          'edited: restore the file and add a new numbered migration instead.',
      );
    }
    plan.alreadyApplied.push(migration);
  }
  return plan;
}
