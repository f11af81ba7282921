import { spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, EventPublisher, provisionEnv, removeEnv } from '@warden/messaging';
import {
  auditSql,
  makeTempDir,
  removeTempDir,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMain, startService, type ServiceProcess } from './support/processes.js';

/** `warden costs` (the built CLI) against a built trace collector that stored a few runs. */
describe('warden costs', () => {
  const env = uniqueEnv('costs');
  let nats: TestNats;
  let nc: NatsConnection;
  let dataDir: string;
  let collector: ServiceProcess;
  /** The UTC day the first run started on: where the views count both runs. */
  let day = '';

  const warden = (...args: string[]) =>
    spawnSync(process.execPath, [appMain('cli'), ...args, '--nats', nats.url], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  /** Table output without colours (cli-table3 colours the borders when vitest forces colour). */
  const plain = (text: string) => stripVTControlCharacters(text);

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'costs-e2e' });
    await provisionEnv(nc, env);
    dataDir = await makeTempDir('warden-costs-');
    collector = await startService('trace-collector', {
      WARDEN_ENV: env,
      NATS_URL: nats.url,
      WARDEN_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      COLLECTOR_BATCH_WAIT_MS: '50',
    });

    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    /** A run of `workflow` with one tool call settled at `cost`, ended `succeeded` or halted. */
    const run = async (runId: string, cost: number, end: 'succeeded' | 'loop') => {
      const started = publisher.build({
        type: 'run.started',
        eventId: ulid(),
        runId,
        agentId: 'refund-bot',
        workflow: 'refunds',
        data: { workflow: 'refunds' },
      });
      day ||= started.occurred_at.slice(0, 10);
      const proposed = publisher.build({
        type: 'intent.proposed',
        eventId: ulid(),
        intentId: ulid(),
        cause: started,
        data: { tool: 'refunds.issue', args: { order: runId }, step: 1 },
      });
      const reserved = publisher.build({
        type: 'budget.reserved',
        cause: proposed,
        data: { tool: 'refunds.issue', args: { order: runId }, reserved_micro_usd: cost, step: 1 },
      });
      const settled = publisher.build({
        type: 'budget.settled',
        cause: reserved,
        data: { cost_micro_usd: cost, released_micro_usd: 0 },
      });
      for (const event of [started, proposed, reserved, settled]) await publisher.publish(event);
      await publisher.publish(
        end === 'succeeded'
          ? publisher.build({ type: 'run.ended', cause: started, data: { status: 'succeeded' } })
          : publisher.build({
              type: 'run.halted',
              cause: started,
              data: { reason: 'loop', by: 'cost-governor' },
            }),
      );
    };
    await run('run-ok', 1_234_567, 'succeeded');
    await run('run-loop', 3_001, 'loop');
    await waitFor(
      async () => {
        const [row] = await auditSql(nc, env, 'SELECT count() AS n FROM events');
        return Number(row?.n) === 10;
      },
      { timeoutMs: 30_000, message: 'the collector stored the 10 events' },
    );
  });

  afterAll(async () => {
    await collector.stop();
    await removeEnv(nc, env);
    await nc.close();
    await removeTempDir(dataDir);
    await nats.stop();
  });

  it('prints the workflow’s days and halted runs as JSON for scripts', () => {
    const result = warden(
      'costs',
      '--env',
      env,
      '--workflow',
      'refunds',
      '--since',
      '24h',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      days: Record<string, unknown>[];
      halted: Record<string, unknown>[];
    };
    expect(report.days).toEqual([
      {
        day,
        workflow: 'refunds',
        runs: '2',
        succeeded_runs: '1',
        cost_micro_usd: '1237568',
        cost_per_successful_run_micro_usd: '1237568',
      },
    ]);
    expect(report.halted).toEqual([{ day, workflow: 'refunds', reason: 'loop', runs: '1' }]);
  });

  it('prints tables in USD, and an agent’s spend per day', () => {
    const workflow = warden('costs', '--env', env, '--workflow', 'refunds');
    expect(workflow.status, workflow.stderr).toBe(0);
    expect(workflow.stdout).toMatch(/Cost of runs of workflow refunds since/);
    expect(plain(workflow.stdout)).toMatch(/│ 2 +│ 1 +│ 1\.237568 +│ 1\.237568 +│/);
    expect(plain(workflow.stdout)).toMatch(/│ loop +│ 1 +│/);

    const agent = warden('costs', '--env', env, '--agent', 'refund-bot');
    expect(agent.status, agent.stderr).toBe(0);
    expect(plain(agent.stdout)).toMatch(/│ 1\.237568 +│ 2 +│ 2 +│/);
  });

  it('says to start Warden when no collector answers, and what --since takes', () => {
    const nobody = warden('costs', '--env', 'nobody-home');
    expect(nobody.status).toBe(1);
    expect(nobody.stderr).toContain('no trace collector is running for env "nobody-home"');
    expect(nobody.stderr).toMatch(/warden up --env nobody-home/);

    const bad = warden('costs', '--env', env, '--since', 'last week');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/use a number of days or hours back \(7d, 24h\)/);
  });
});
