import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuditVerifyReply, subjects, type AuditVerifyResult } from '@warden/contracts';
import { DIGESTED_COLUMN_NAMES } from '@warden/event-store';
import { connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  auditSql,
  makeTempDir,
  proposedEvent,
  removeTempDir,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../src/service.js';

/*
 * Tamper evidence end to end (issue 9, item 7): a real collector (chDB in a temp dir) stores
 * events and checkpoints them; the test then edits the stored tables the way someone with write
 * access to ClickHouse could, and `audit verify` (the collector's API, and the built CLI) must name
 * what changed.
 *
 * The edits go through a second chDB Session on the collector's directory: the collector runs in
 * this process, and chDB lets sessions of one process share a directory. `mutations_sync = 1`
 * makes each ALTER … UPDATE/DELETE finish before it returns.
 */

const CLI_MAIN = fileURLToPath(new URL('../../../dist/apps/cli/main.js', import.meta.url));

/**
 * Runs the built `warden` CLI. Asynchronously: the collector answering it runs in this process,
 * so a synchronous spawn would block it.
 */
function warden(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

describe('audit log tamper evidence', () => {
  const env = uniqueEnv('checkpoints');
  let nats: TestNats;
  let nc: NatsConnection;
  let dataDir: string;
  let collector: RunningService;
  let publisher: EventPublisher;
  let engine: Session;

  beforeAll(async () => {
    nats = await startNats();
    dataDir = await makeTempDir('warden-checkpoints-');
    collector = await service.start(
      service.config({
        WARDEN_ENV: env,
        NATS_URL: nats.url,
        WARDEN_DATA_DIR: dataDir,
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        // Small batches, so the events land in several checkpoints.
        COLLECTOR_BATCH_SIZE: '20',
        COLLECTOR_BATCH_WAIT_MS: '20',
      }),
    );
    nc = await connectNats({ servers: nats.url, name: 'checkpoints-int-test' });
    publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    engine = new Session(dataDir);

    const events = Array.from({ length: 100 }, (_, i) =>
      proposedEvent(env, {
        run: `run-${i % 4}`,
        step: i + 1,
        args: { i },
        agent: 'a',
        tool: 'echo',
      }),
    );
    await publisher.publishMany(events);
    await waitFor(async () => (await count('events')) === 100 && (await covered()) === 100, {
      timeoutMs: 30_000,
      message: '100 events stored and checkpointed',
    });
  }, 60_000);

  afterAll(async () => {
    engine.close();
    await collector.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dataDir);
    await nats.stop();
  });

  async function count(table: 'events' | 'checkpoints'): Promise<number> {
    const [row] = await auditSql(nc, env, `SELECT count() AS n FROM ${table}`);
    return Number(row?.n);
  }

  async function covered(): Promise<number> {
    const [row] = await auditSql(
      nc,
      env,
      'SELECT uniqExact(arrayJoin(event_ids)) AS n FROM checkpoints WHERE env = {env:String}',
      { env },
    );
    return Number(row?.n);
  }

  async function verify(since?: string): Promise<AuditVerifyResult> {
    const message = await nc.request(
      subjects.api(env, 'audit', 'verify'),
      JSON.stringify(since === undefined ? {} : { since }),
      { timeout: 30_000 },
    );
    const reply = AuditVerifyReply.parse(message.json());
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  }

  /** Runs an edit on the collector's engine, as someone with write access could. */
  function tamper(sql: string, params: Record<string, unknown>): void {
    engine.queryBind(`${sql} SETTINGS mutations_sync = 1`, params);
  }

  /** An event of the log: its id, type, run and time as verify reports them. */
  async function someEvent(offset: number) {
    const [row] = await auditSql(
      nc,
      env,
      `SELECT event_id, type, run_id, occurred_at FROM events WHERE env = {env:String}
       ORDER BY event_id LIMIT 1 OFFSET {offset:UInt32}`,
      { env, offset },
    );
    return {
      event_id: String(row?.event_id),
      type: String(row?.type),
      run_id: String(row?.run_id),
      // RFC 3339, as verify reports times.
      occurred_at: `${String(row?.occurred_at).replace(' ', 'T')}Z`,
    };
  }

  it('digests every column of events', () => {
    const columns = engine.query(
      "SELECT name FROM system.columns WHERE table = 'events' AND database = currentDatabase() ORDER BY position",
      'JSONEachRow',
    );
    const names = columns
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { name: string }).name);
    expect([...DIGESTED_COLUMN_NAMES].sort()).toEqual([...names].sort());
  });

  it('verifies the log as the collector stored it, one checkpoint per batch', async () => {
    const result = await verify();
    expect(result).toMatchObject({ ok: true, events: 100, expired: 0, first_seq: 1 });
    expect(result.checkpoints).toBeGreaterThanOrEqual(5);
    expect(result.last_seq).toBe(result.checkpoints);
    expect(result.failure).toBeUndefined();
    expect(await count('checkpoints')).toBe(result.checkpoints);
  });

  it('verifies through the CLI, with a summary and --json', async () => {
    const verifyCli = (...args: string[]) =>
      warden('audit', 'verify', '--env', env, '--nats', nats.url, ...args);
    const summary = await verifyCli();
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/^VERIFIED {2}audit log of env /);
    expect(summary.stdout).toMatch(/events verified +100/);
    const json = await verifyCli('--since', '1h', '--json');
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, events: 100 });
  }, 60_000);

  it('names the row when one byte of one stored row changes, through the API and the CLI', async () => {
    const victim = await someEvent(17);
    const [before] = await auditSql(
      nc,
      env,
      'SELECT data FROM events WHERE event_id = {id:String}',
      {
        id: victim.event_id,
      },
    );
    const data = String(before?.data);
    // One byte: the last character of the JSON text (`}` → `]`).
    tamper('ALTER TABLE events UPDATE data = {data:String} WHERE event_id = {id:String}', {
      data: `${data.slice(0, -1)}]`,
      id: victim.event_id,
    });

    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.failure).toMatchObject({ kind: 'row_changed', event: victim });

    const cli = await warden('audit', 'verify', '--env', env, '--nats', nats.url);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain('NOT VERIFIED');
    expect(cli.stdout).toContain('row_changed');
    expect(cli.stdout).toContain(victim.event_id);
    expect(cli.stderr).toMatch(
      /error: the audit log does not verify\nhint: Treat the log as tampered/,
    );

    // Put it back: the log verifies again.
    tamper('ALTER TABLE events UPDATE data = {data:String} WHERE event_id = {id:String}', {
      data,
      id: victim.event_id,
    });
    expect((await verify()).ok).toBe(true);
  }, 60_000);

  it('catches an edit of a column no query reads (ingested_at)', async () => {
    const victim = await someEvent(3);
    tamper(
      'ALTER TABLE events UPDATE ingested_at = ingested_at - INTERVAL 1 MICROSECOND WHERE event_id = {id:String}',
      { id: victim.event_id },
    );
    expect((await verify()).failure).toMatchObject({ kind: 'row_changed', event: victim });
    tamper(
      'ALTER TABLE events UPDATE ingested_at = ingested_at + INTERVAL 1 MICROSECOND WHERE event_id = {id:String}',
      { id: victim.event_id },
    );
    expect((await verify()).ok).toBe(true);
  }, 60_000);

  it('names a deleted row', async () => {
    const victim = await someEvent(42);
    const [checkpoint] = await auditSql(
      nc,
      env,
      'SELECT seq FROM checkpoints WHERE env = {env:String} AND has(event_ids, {id:String})',
      { env, id: victim.event_id },
    );
    tamper('ALTER TABLE events DELETE WHERE event_id = {id:String}', { id: victim.event_id });
    const result = await verify();
    expect(result.failure).toMatchObject({
      kind: 'row_missing',
      checkpoint_seq: Number(checkpoint?.seq),
      event: victim,
    });
  }, 60_000);

  it('reports an altered checkpoint', async () => {
    // The deleted row above stays deleted: checkpoints after its own one still verify on their own.
    tamper(
      "ALTER TABLE checkpoints UPDATE types = arrayMap(t -> 'x', types) WHERE env = {env:String} AND seq = 2",
      { env },
    );
    const result = await verify();
    expect(result.ok).toBe(false);
    // Checkpoint 1 is fine; 2 is the first failure found in chain order.
    expect(result.failure).toMatchObject({ kind: 'checkpoint_altered', checkpoint_seq: 2 });
  }, 60_000);

  it('reports a row stored around the collector', async () => {
    const foreign = 'forged-row-0001';
    engine.queryBind(
      `INSERT INTO events (event_id, type, env, occurred_at, producer_service, run_id, data)
       VALUES ({id:String}, 'intent.proposed', {env:String}, now64(6), 'sdk', 'run-x', '{}')`,
      { id: foreign, env },
    );
    // Only checkpoints from now on: the altered ones above are left out, the forged row is not.
    const since = new Date(Date.now() - 1000).toISOString();
    const result = await verify(since);
    expect(result.failure).toMatchObject({
      kind: 'row_uncovered',
      event: { event_id: foreign, type: 'intent.proposed', run_id: 'run-x' },
    });
  }, 60_000);
});
