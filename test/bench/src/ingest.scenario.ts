import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '@warden/contracts';
import { EventPublisher, provisionEnv, removeEnv } from '@warden/messaging';
import { auditSql, proposedEvent } from '@warden/testing';
import { startApp, type AppProcess } from './app-process.js';
import { now } from './stats.js';

/** Collector ingest, end to end: publish → committed rows in chDB, counted through the audit API. */
export interface IngestResult {
  published: number;
  stored: number;
  /** Events/s from the first publish to the last row committed, publishing while ingesting. */
  endToEndPerSecond: number;
  /** Events/s the collector drains a backlog already on the stream into chDB. */
  drainPerSecond: number;
  /** Resident memory of the collector process (it embeds chDB) after the load, MiB. */
  collectorRssMiB: number;
}

export async function measureIngest(
  nc: NatsConnection,
  env: string,
  natsUrl: string,
  total: number,
): Promise<IngestResult> {
  await provisionEnv(nc, env);
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const publisher = new EventPublisher(nc, {
    env,
    producer: { service: 'bench', instance: 'ingest', version: '0' },
  });
  let collector: AppProcess | undefined;
  try {
    // 1. Drain: a backlog on the stream, then the collector starts and stores it.
    const backlog = events(env, total, 'run-drain');
    await publisher.publishMany(backlog);
    collector = await startCollector(env, natsUrl, dataDir);
    const drainStart = now();
    await waitForRows(nc, env, 'run-drain', total);
    const drainPerSecond = total / ((now() - drainStart) / 1000);

    // 2. End to end: publish while the collector ingests.
    const live = events(env, total, 'run-live');
    const start = now();
    await publisher.publishMany(live);
    const stored = await waitForRows(nc, env, 'run-live', total);
    const endToEndPerSecond = total / ((now() - start) / 1000);
    const collectorRssMiB = rssMiB(collector.child.pid);
    return { published: total, stored, endToEndPerSecond, drainPerSecond, collectorRssMiB };
  } finally {
    await collector?.stop();
    await removeEnv(nc, env);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function events(env: string, count: number, run: string): Envelope[] {
  return Array.from({ length: count }, (_, i) =>
    proposedEvent(env, {
      run,
      agent: 'bench-agent',
      args: { ticket_id: 880_000 + i, fields: { priority: 'high', group: 'payments' } },
      step: i + 1,
    }),
  );
}

async function waitForRows(
  nc: NatsConnection,
  env: string,
  runId: string,
  total: number,
): Promise<number> {
  for (;;) {
    const [row] = await auditSql(
      nc,
      env,
      'SELECT count() AS n FROM events WHERE run_id = {run:String}',
      { run: runId },
    );
    const n = Number(row?.n);
    if (n >= total) return n;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startCollector(env: string, natsUrl: string, dataDir: string): Promise<AppProcess> {
  return startApp('trace-collector', {
    WARDEN_ENV: env,
    NATS_URL: natsUrl,
    WARDEN_DATA_DIR: dataDir,
  });
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readStatus(pid);
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function readStatus(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}
