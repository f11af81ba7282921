import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import { connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  auditSql,
  makeTempDir,
  removeTempDir,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
  proposedEvent,
  TEST_PRODUCER,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../src/service.js';

/** A real collector (Nest app, chDB in a temp dir) in this process, against real NATS. */
describe('trace collector ingest', () => {
  const env = uniqueEnv('collector');
  let nats: TestNats;
  let nc: NatsConnection;
  let dataDir: string;
  let collector: RunningService;
  let publisher: EventPublisher;

  beforeAll(async () => {
    nats = await startNats();
    dataDir = await makeTempDir('warden-collector-');
    collector = await service.start(
      service.config({
        WARDEN_ENV: env,
        NATS_URL: nats.url,
        WARDEN_DATA_DIR: dataDir,
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        COLLECTOR_BATCH_WAIT_MS: '50',
      }),
    );
    nc = await connectNats({ servers: nats.url, name: 'collector-int-test' });
    publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  });

  afterAll(async () => {
    await collector.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dataDir);
    await nats.stop();
  });

  const sql = (query: string, params: Record<string, unknown> = {}) =>
    auditSql(nc, env, query, params);

  async function countRows(where = '1', params: Record<string, unknown> = {}): Promise<number> {
    const [row] = await sql(
      `SELECT count() AS n FROM events WHERE env = {env:String} AND ${where}`,
      { env, ...params },
    );
    return Number(row?.n);
  }

  const event = (run: string, step: number, args: Record<string, unknown> = { step }) =>
    proposedEvent(env, { run, step, args, agent: 'load-agent', tool: 'echo' });

  it('stores 100,000 events exactly once when 5% are published twice', async () => {
    const runId = 'run-load';
    const events = Array.from({ length: 100_000 }, (_, i) => event(runId, i + 1));
    const again = events.filter((_, i) => i % 20 === 0);
    const first = await publisher.publishMany(events);
    const second = await publisher.publishMany(again);
    expect(first.stored).toBe(100_000);
    expect(second.duplicates).toBe(5000);

    await waitFor(
      async () => (await countRows('run_id = {run:String}', { run: runId })) >= 100_000,
      {
        timeoutMs: 60_000,
        message: 'all 100,000 events stored',
      },
    );
    const [row] = await sql(
      'SELECT count() AS n, uniqExact(event_id) AS ids FROM events WHERE run_id = {run:String}',
      { run: runId },
    );
    expect(Number(row?.n)).toBe(100_000);
    expect(Number(row?.ids)).toBe(100_000);
  }, 120_000);

  it('records every bad message as rejected with a reason, stores every good one, and keeps running', async () => {
    const runId = 'run-mixed';
    const good = Array.from({ length: 20 }, (_, i) => event(runId, i + 1));
    const valid = JSON.stringify(event(runId, 99));
    const bad: [string, string][] = [
      [subjects.event(env, 'intent.proposed', 'load-agent'), '{"type": "intent.proposed", '],
      [
        subjects.event(env, 'intent.proposed', 'load-agent'),
        JSON.stringify({ ...event(runId, 1), type: 'intent.teleported' }),
      ],
      [
        subjects.event(env, 'intent.proposed', 'load-agent'),
        JSON.stringify({ ...event(runId, 2), env: 'someone-else' }),
      ],
      [
        subjects.event(env, 'intent.proposed', 'load-agent'),
        JSON.stringify(event(runId, 3, { blob: 'x'.repeat(512 * 1024) })),
      ],
      [
        subjects.event(env, 'intent.proposed', 'load-agent'),
        JSON.stringify({ ...event(runId, 4), agent_id: 'agent.*' }),
      ],
      [
        subjects.event(env, 'intent.proposed', 'load-agent'),
        JSON.stringify({ ...event(runId, 5), run_id: 'run>' }),
      ],
      [subjects.event(env, 'intent.proposed', 'other-agent'), valid],
    ];
    for (const [i, item] of good.entries()) {
      await publisher.publish(item);
      const raw = bad[i];
      if (raw) await publisher.publishRaw(raw[0], raw[1]);
    }

    await waitFor(async () => (await countRows('run_id = {run:String}', { run: runId })) === 20, {
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await countRows("type = 'event.rejected'")) === bad.length, {
      timeoutMs: 30_000,
    });
    const reasons = await sql(
      "SELECT reason, count() AS n FROM events WHERE type = 'event.rejected' GROUP BY reason ORDER BY reason",
    );
    expect(Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)]))).toEqual({
      invalid_envelope: 2,
      malformed_json: 1,
      oversize: 1,
      subject_mismatch: 1,
      unknown_type: 1,
      wrong_env: 1,
    });
    const [oversize] = await sql(
      "SELECT data FROM events WHERE type = 'event.rejected' AND reason = 'oversize'",
    );
    expect(JSON.parse(String(oversize?.data))).toMatchObject({
      size_bytes: expect.any(Number) as number,
      consumer: 'trace-collector',
    });

    const ready = await fetch(`${collector.url}/readyz`);
    expect(ready.status).toBe(200);
  }, 60_000);

  it('never stores a card number, an e-mail address or a JWT', async () => {
    const runId = 'run-secrets';
    const jwt =
      'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ0cmlhZ2UtYm90In0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2';
    await publisher.publish(
      event(runId, 1, {
        note: 'refund card 4111 1111 1111 1111 for jane.doe@example.com',
        token: jwt,
        nested: [{ to: 'ops@example.org' }],
      }),
    );
    await waitFor(async () => (await countRows('run_id = {run:String}', { run: runId })) === 1, {
      timeoutMs: 30_000,
    });
    for (const secret of [
      '4111 1111 1111 1111',
      '4111111111111111',
      'jane.doe@example.com',
      'ops@example.org',
      jwt,
      'eyJhbGci',
    ]) {
      expect(await countRows('position(data, {s:String}) > 0', { s: secret })).toBe(0);
    }
    const [row] = await sql('SELECT data, redactions FROM events WHERE run_id = {run:String}', {
      run: runId,
    });
    expect(row?.redactions).toEqual(expect.arrayContaining(['card', 'email']));
  }, 60_000);
});
