import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, EventPublisher, provisionEnv, removeEnv } from '@warden/messaging';
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
import { startService, type ServiceProcess } from './support/processes.js';

const TOTAL = 100_000;

describe('trace collector killed mid-load', () => {
  const env = uniqueEnv('crash');
  let nats: TestNats;
  let nc: NatsConnection;
  let dataDir: string;
  let collector: ServiceProcess | undefined;

  const collectorEnv = () => ({
    WARDEN_ENV: env,
    NATS_URL: nats.url,
    WARDEN_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // Short, so that what the killed process held unacked comes back quickly.
    COLLECTOR_ACK_WAIT_MS: '3000',
  });

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'crash-e2e' });
    await provisionEnv(nc, env);
    dataDir = await makeTempDir('warden-crash-');
  });

  afterAll(async () => {
    await collector?.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dataDir);
    await nats.stop();
  });

  const stored = async () => {
    const [row] = await auditSql(
      nc,
      env,
      'SELECT count() AS n, uniqExact(event_id) AS ids FROM events WHERE env = {env:String}',
      { env },
    );
    return { rows: Number(row?.n), ids: Number(row?.ids) };
  };

  it('still stores every event exactly once after a SIGKILL and a restart', async () => {
    collector = await startService('trace-collector', collectorEnv());
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const events = Array.from({ length: TOTAL }, (_, i) =>
      proposedEvent(env, {
        run: `run-${i % 100}`,
        agent: 'load-agent',
        tool: 'echo',
        args: { i },
        step: 1 + Math.floor(i / 100),
      }),
    );
    const publishing = (async () => {
      await publisher.publishMany(events);
      // 5% again, with the same ids: JetStream's duplicate window drops them. The last ones
      // published: on a loaded machine the first may be older than the two-minute window, and
      // a copy past it is a new message (stored twice, as the window's contract says).
      return publisher.publishMany(events.slice(TOTAL - TOTAL / 20));
    })();

    await waitFor(async () => (await stored()).rows >= 20_000, {
      timeoutMs: 60_000,
      message: 'some rows stored',
    });
    await collector.kill();
    collector = await startService('trace-collector', collectorEnv());

    const again = await publishing;
    expect(again.duplicates).toBe(TOTAL / 20);
    await waitFor(async () => (await stored()).rows >= TOTAL, {
      timeoutMs: 120_000,
      message: 'all rows stored',
    });
    // Anything the killed collector held unacked has been redelivered by now (ack wait 3 s).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await stored()).toEqual({ rows: TOTAL, ids: TOTAL });
  }, 240_000);
});
