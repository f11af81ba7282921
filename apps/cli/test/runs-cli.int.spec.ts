import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AuditSqlRequest, AuditTimelineRequest, subjects } from '@warden/contracts';
import { openEventStore, type EventStore } from '@warden/event-store';
import { connectNats } from '@warden/messaging';
import { makeTempDir, removeTempDir, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsCommand } from '../src/commands/runs.command.js';
import { CliError } from '../src/output.js';
import { captureStdoutInEachTest, inProcessWarden } from './support/cli.js';
import { recordReferenceRun, RunRecorder } from './support/run-events.js';

/*
 * `warden runs list|show|timeline` in-process against real NATS and a real chDB audit log with
 * every migration applied (0004's run views included). The collector's audit API is stood in for
 * by a responder that answers as the collector does (apps/trace-collector AuditApiHandler: the
 * store's timeline() and readOnlyQuery()), so the CLI's SQL runs on the real engine.
 */

let nats: TestNats;
let nc: NatsConnection;
let store: EventStore;
let dataDir: string;
const subscriptions: Subscription[] = [];
const env = uniqueEnv('cli-runs');
const stdout = captureStdoutInEachTest();

function warden(...args: string[]): Promise<unknown> {
  return inProcessWarden(runsCommand()).parseAsync(['runs', ...args, '--nats', nats.url], {
    from: 'user',
  });
}

async function failure(...args: string[]): Promise<CliError> {
  const error = await warden(...args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

/** Answers `warden.<env>.api.audit.<op>` the way the trace collector does. */
function serve(op: 'sql' | 'timeline'): void {
  const subscription = nc.subscribe(subjects.api(env, 'audit', op));
  subscriptions.push(subscription);
  void (async () => {
    for await (const message of subscription) {
      try {
        const result =
          op === 'sql'
            ? await (async () => {
                const request = AuditSqlRequest.parse(message.json());
                const answer = await store.readOnlyQuery(request.sql, request.params ?? {}, {
                  maxRows: request.max_rows ?? 1000,
                });
                return { ...answer, truncated: answer.truncated };
              })()
            : {
                events: await store.timeline(
                  env,
                  AuditTimelineRequest.parse(message.json()).run_id,
                  { limit: AuditTimelineRequest.parse(message.json()).limit ?? 1000 },
                ),
              };
        message.respond(JSON.stringify({ ok: true, result }));
      } catch (error) {
        message.respond(
          JSON.stringify({
            ok: false,
            error: { code: 'query_failed', message: (error as Error).message },
          }),
        );
      }
    }
  })();
}

beforeAll(async () => {
  const recorder = new RunRecorder(env);
  recordReferenceRun(recorder, 'run-42');
  // A second run, of another agent, an hour later, still waiting for an approval.
  const other = new RunRecorder(env, Date.parse('2026-11-02T10:00:00Z'));
  const run = other.emit('run.started', {}, { runId: 'run-43', agentId: 'billing-bot' });
  const proposed = other.emit(
    'intent.proposed',
    { tool: 'billing.refund', args: { amount: 5 }, step: 1 },
    { cause: run, intentId: '01JD4K6Z8V3M2T9Q7W5X1Y0C01' },
  );
  other.emit(
    'approval.requested',
    {
      approval_id: '01JD4K6Z8V3M2T9Q7W5X1Y0C02',
      tool: 'billing.refund',
      args: { amount: 5 },
      args_hash: 'b'.repeat(64),
      step: 1,
      group: 'finance',
      separation_of_duties: false,
      policy_ids: ['refunds-need-finance'],
      policy_version: 3,
      expires_at: '2026-11-02T11:00:00.000000Z',
    },
    { cause: proposed },
  );

  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-runs-test' });
  dataDir = await makeTempDir('warden-cli-runs-');
  store = await openEventStore({ kind: 'embedded', dataDir });
  await store.migrate();
  await store.insertEvents([...recorder.rows(), ...other.rows()], {
    deduplicationToken: `${env}:runs`,
  });
  serve('sql');
  serve('timeline');
  await nc.flush();
});

afterAll(async () => {
  for (const subscription of subscriptions) subscription.unsubscribe();
  await nc.close();
  await nats.stop();
  await store.close();
  await removeTempDir(dataDir);
});

describe('warden runs list', () => {
  it('shows the newest run first with status, steps, cost, denials and waiting approvals', async () => {
    await warden('list', '--env', env, '--since', '2026-11-01');
    const lines = stdout.text.split('\n').filter((line) => line.includes('run-4'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /run-43 .*billing-bot .*\(none\) .*2026-11-02T10:00:00Z .*running .* 0 .* 0\.00 .* 0 .* 1 /,
    );
    expect(lines[1]).toMatch(
      /run-42 .*triage-bot .*support .*2026-11-02T09:00:00Z .*failed, halted before \(loop\) .* 2 .* 0\.0085 .* 2 .* 0 /,
    );
    expect(stdout.text).toContain('2 run(s).');
  });

  it('filters by agent and status, and prints JSON for scripts', async () => {
    await warden(
      'list',
      '--env',
      env,
      '--since',
      '2026-11-01',
      '--agent',
      'triage-bot',
      '--status',
      'ended',
      '--json',
    );
    const rows = JSON.parse(stdout.text) as Record<string, unknown>[];
    expect(rows.map((row) => [row.run_id, row.status, row.cost_micro_usd])).toEqual([
      ['run-42', 'failed', '8500'],
    ]);
    stdout.clear();
    await warden('list', '--env', env, '--since', '2026-11-01', '--status', 'halted');
    expect(stdout.text).toMatch(/^No runs since 2026-11-01 in env \S+ \(status halted\)\./);
  });

  it('counts --since back from now: the 2026-11-02 runs are not in the last 30 minutes', async () => {
    await warden('list', '--env', env, '--since', '30m', '--json');
    // Unless this test runs within half an hour of 2026-11-02T10:00Z.
    expect(JSON.parse(stdout.text)).toEqual([]);
  });
});

describe('warden runs show', () => {
  it('summarises the run: halt, spend against its declared budget, denials with policies, approver', async () => {
    await warden('show', 'run-42', '--env', env);
    // The table's borders are coloured: compare the text.
    const text = stripVTControlCharacters(stdout.text);
    expect(text).toContain('  status    failed, halted before (loop): stopped by a loop');
    expect(text).toContain('  steps     2 of 10 (4 tool calls proposed)');
    expect(text).toContain('  spend     $0.0085 of a declared $0.50');
    expect(text).toMatch(/payroll\.run +│ 0 +│ 0 +│ 1 /);
    expect(text).toContain(
      'step 3  payroll.run  denied at policy · forbidden · policies no-payroll (v3) · forbidden by policy no-payroll',
    );
    expect(text).toContain(
      'step 4  helpdesk.get_ticket  denied at budget · loop · allowed by reads (v3)',
    );
    expect(text).toMatch(/helpdesk\.bulk_close {2}granted by lee: "spam wave"/);
    expect(text).toContain(`warden runs timeline run-42 --env ${env}`);
  });

  it('prints JSON for scripts', async () => {
    await warden('show', 'run-43', '--env', env, '--json');
    expect(JSON.parse(stdout.text)).toMatchObject({
      run_id: 'run-43',
      status: 'running',
      approvals: [{ tool: 'billing.refund', outcome: 'pending', approver: '' }],
      next: [
        `warden runs timeline run-43 --env ${env}`,
        `warden approvals list --status pending --env ${env}`,
        expect.any(String),
      ],
    });
  });

  it('says so, with a hint, when the run is not in the log', async () => {
    const error = await failure('show', 'run-404', '--env', env);
    expect(error.message).toBe(`no run run-404 in the audit log of env ${env}`);
    expect(error.hint).toContain('warden runs list');
  });
});

describe('warden runs timeline', () => {
  it('tells the run step by step from the stored, redacted events', async () => {
    await warden('timeline', 'run-42', '--env', env);
    const text = stdout.text;
    expect(text).toMatch(/^run run-42 · agent triage-bot · workflow support · started /);
    expect(text).toContain('┌ step 2 · helpdesk.bulk_close(ticket_ids=[1,2,3]) · intent ');
    expect(text).toContain('│ APPROVED by lee · "spam wave"');
    expect(text).toContain('│ budget settled $0.005 · run spend $0.006');
    expect(text).toContain('"requester":"[REDACTED:email]"');
    expect(text).not.toContain('ann.lee@example.com');
  });

  it('prints the entries as JSON with --json', async () => {
    await warden('timeline', 'run-42', '--env', env, '--json');
    const timeline = JSON.parse(stdout.text) as {
      entries: { type: string; run_spend_micro_usd: number }[];
    };
    expect(timeline.entries.at(-1)).toMatchObject({ type: 'run.ended', run_spend_micro_usd: 8500 });
    expect(timeline).toMatchObject({ truncated: false });
  });

  it('reads the first --limit events, and says there may be more', async () => {
    await warden('timeline', 'run-42', '--env', env, '--limit', '3');
    const lines = stdout.text.trimEnd().split('\n');
    expect(lines[0]).toContain(' · 3 events · ');
    expect(lines.at(-1)).toBe('(the first 3 events only: --limit reads up to 10000)');
  });

  it('says so when the run is unknown, and when no collector answers', async () => {
    expect((await failure('timeline', 'run-404', '--env', env)).message).toBe(
      `no run run-404 in the audit log of env ${env}`,
    );
    const absent = await failure('timeline', 'run-42', '--env', `${env}-none`);
    expect(absent.message).toBe(`no trace collector is running for env "${env}-none"`);
    expect(absent.hint).toContain('warden up');
  });
});
