import { stripVTControlCharacters } from 'node:util';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type CanaryView, type DataOf, type EnvelopeBase, type Risk } from '@warden/contracts';
import { openEventStore, type EventStore } from '@warden/event-store';
import { connectNats } from '@warden/messaging';
import { makeTempDir, removeTempDir, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureStdoutInEachTest, inProcessWarden } from './support/cli.js';
import { RunRecorder } from './support/run-events.js';
import { answerAuditSql } from './support/audit-sql.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';
import { canaryCommand } from '../src/commands/canary.command.js';
import {
  CANARY_ARMS_SQL,
  CANARY_EVENTS_SQL,
  CANARY_LATENCY_SQL,
  CANARY_RANKS_SQL,
  LAST_CANARY_SQL,
  RANKED_METRICS,
} from '../src/canary/canary-queries.js';
import { canaryFromEvents, type CanaryReport } from '../src/canary/canary-report.js';
import { rankSummary } from '../src/canary/stats.js';

/*
 * The SQL of `warden canary report` on a real chDB audit log with every migration applied, fed
 * runs the way the trace collector writes them: a canary whose two arms differ (the canary's
 * policy lets bulk closes run without approval), beside runs of another canary, a run of no
 * canary, a run before the window and the same story in another env. Every figure the log
 * computes is checked against the same figure computed here from the runs as they were recorded.
 * Then `warden canary report` in-process on real NATS: `audit.sql` answered from that store as
 * the collector does, `canary-list` by a stand-in (the service's side is the policy decision
 * service's own test).
 */

const env = uniqueEnv('cli-canary');
const otherEnv = uniqueEnv('cli-canary-other');
const CANARY = '01JD4K6Z8V3M2T9Q7W5XC0000A';
const OTHER_CANARY = '01JD4K6Z8V3M2T9Q7W5XC0000B';
const HASH = 'd'.repeat(64);
const START = Date.parse('2026-11-02T09:00:00Z');

let store: EventStore;
let dataDir: string;
let nats: TestNats;
let nc: NatsConnection;
let sql: Subscription;
let policyApi: StandInApi;
const stdout = captureStdoutInEachTest();

/** What one run left, as the report should count it. */
interface Facts {
  arm: 'baseline' | 'canary';
  canary: string;
  status: 'succeeded' | 'failed' | 'halted' | 'running';
  refused: number;
  approvals: number;
  escaped: number;
  cost: number;
  durationUs: number | null;
  latenciesUs: number[];
  calls: number;
}

type Call = 'read' | 'write' | 'approved-bulk' | 'escaped-bulk' | 'escaped-money' | 'denied';

const READ: Risk = { write: false, bulk: false, pii: false };
const WRITE: Risk = { write: true, bulk: false, pii: false };
const BULK: Risk = { write: true, bulk: true, pii: false };
const MONEY: Risk = { write: true, bulk: false, pii: false, money: true };
const RISK: Record<Call, Risk> = {
  read: READ,
  write: WRITE,
  denied: WRITE,
  'approved-bulk': BULK,
  'escaped-bulk': BULK,
  'escaped-money': MONEY,
};

let ids = 0;
/** A fresh ULID (Crockford base32, 26 characters). */
function nextId(): string {
  ids += 1;
  return `01JD4K6Z8V3M2T9Q7W5X${ids.toString(32).toUpperCase().padStart(6, '0')}`;
}

/** Epoch microseconds of an RFC 3339 µs timestamp. */
function micros(at: string): number {
  return Date.parse(at.slice(0, 23) + 'Z') * 1000 + Number(at.slice(23, 26));
}

function recordRun(
  recorder: RunRecorder,
  plan: {
    runId: string;
    canary: string;
    arm: 'baseline' | 'canary';
    version: string;
    policyVersion: number;
    calls: { kind: Call; waitMs: number }[];
    status: Facts['status'];
  },
): Facts {
  const started = recorder.emit(
    'run.started',
    {
      workflow: 'support',
      version: plan.version,
      canary: { id: plan.canary, arm: plan.arm },
    },
    { runId: plan.runId, agentId: 'triage-bot', workflow: 'support' },
  );
  const facts: Facts = {
    arm: plan.arm,
    canary: plan.canary,
    status: plan.status,
    refused: 0,
    approvals: 0,
    escaped: 0,
    cost: 0,
    durationUs: null,
    latenciesUs: [],
    calls: plan.calls.length,
  };
  let step = 0;
  for (const { kind, waitMs } of plan.calls) {
    step += 1;
    const tool = kind === 'read' ? 'zendesk.get_ticket' : 'zendesk.bulk_close';
    const risk = RISK[kind];
    const args = { ticket_id: step };
    const proposed = recorder.emit(
      'intent.proposed',
      { tool, args, step },
      {
        runId: plan.runId,
        agentId: 'triage-bot',
        workflow: 'support',
        intentId: nextId(),
      },
    );
    const decided = recorder.emit(
      'policy.decided',
      {
        tool,
        args,
        step,
        effect:
          kind === 'denied' ? 'deny' : kind === 'approved-bulk' ? 'approval_required' : 'allow',
        determining_policy_ids: ['p'],
        policy_version: plan.policyVersion,
        errors: [],
        eval_us: 30,
        risk,
      },
      { cause: proposed },
    );
    let cause: EnvelopeBase = decided;
    if (kind === 'approved-bulk') {
      const approval = {
        approval_id: nextId(),
        tool,
        args,
        args_hash: HASH,
        step,
        group: 'support-leads',
        policy_version: plan.policyVersion,
      };
      const requested = recorder.emit(
        'approval.requested',
        {
          ...approval,
          separation_of_duties: false,
          policy_ids: ['p'],
          expires_at: '2026-11-03T10:00:00.000000Z',
        },
        { cause },
      );
      cause = recorder.emit(
        'approval.granted',
        { ...approval, approver: 'lee', comment: 'ok' },
        { cause: requested },
      );
      facts.approvals += 1;
    }
    let resolved: EnvelopeBase;
    if (kind === 'denied') {
      recorder.wait(waitMs);
      resolved = recorder.emit(
        'intent.resolved',
        { status: 'denied', stage: 'policy', tool, reason: 'forbidden' },
        { cause },
      );
      facts.refused += 1;
    } else {
      const cost = kind === 'read' ? 1_000 : 5_000;
      const reserved = recorder.emit(
        'budget.reserved',
        { tool, args, step, reserved_micro_usd: cost },
        { cause },
      );
      const toolStarted = recorder.emit('tool.started', { tool, attempt: 1 }, { cause: reserved });
      recorder.wait(waitMs);
      resolved = recorder.emit(
        'intent.resolved',
        { status: 'executed', stage: 'executor', tool, output: { ok: true } },
        { cause: toolStarted },
      );
      recorder.emit(
        'budget.settled',
        { cost_micro_usd: cost, released_micro_usd: 0 },
        { cause: resolved },
      );
      facts.cost += cost;
      if (kind === 'escaped-bulk' || kind === 'escaped-money') facts.escaped += 1;
    }
    facts.latenciesUs.push(micros(resolved.occurred_at) - micros(proposed.occurred_at));
  }
  let ended: EnvelopeBase | undefined;
  if (plan.status === 'halted') {
    ended = recorder.emit('run.halted', { reason: 'loop' }, { cause: started });
  } else if (plan.status !== 'running') {
    ended = recorder.emit('run.ended', { status: plan.status }, { cause: started });
  }
  if (ended !== undefined) {
    facts.durationUs = micros(ended.occurred_at) - micros(started.occurred_at);
  }
  return facts;
}

function changed(
  recorder: RunRecorder,
  data: Partial<DataOf<'canary.changed'>> & Pick<DataOf<'canary.changed'>, 'change'>,
): void {
  recorder.emit(
    'canary.changed',
    {
      workflow: 'support',
      canary_id: CANARY,
      version: 'v2',
      baseline: 'v1',
      percent: 25,
      policy_version: 5,
      by: 'human:alice',
      ...data,
    },
    { workflow: 'support' },
  );
}

/** The whole story of one env; returns the facts of the canary's runs in the window. */
function record(recorder: RunRecorder): Facts[] {
  const facts: Facts[] = [];
  // Before the canary: a run of a canary of another workflow, and a run of no canary.
  recordRun(recorder, {
    runId: 'run-other-canary',
    canary: OTHER_CANARY,
    arm: 'canary',
    version: 'x9',
    policyVersion: 4,
    calls: [{ kind: 'escaped-bulk', waitMs: 5 }],
    status: 'succeeded',
  });
  recorder.emit(
    'run.started',
    { workflow: 'support', version: 'v1' },
    { runId: 'run-no-canary', agentId: 'triage-bot', workflow: 'support' },
  );
  // A run of the canary logged well before the window the tests ask for (from 09:30).
  recordRun(recorder, {
    runId: 'run-early',
    canary: CANARY,
    arm: 'canary',
    version: 'v2',
    policyVersion: 5,
    calls: [{ kind: 'escaped-bulk', waitMs: 1 }],
    status: 'succeeded',
  });
  recorder.wait(30 * 60_000);
  changed(recorder, { change: 'started', reason: 'new prompt' });
  for (let i = 0; i < 40; i++) {
    const calls: { kind: Call; waitMs: number }[] = [{ kind: 'read', waitMs: (i % 7) * 3 }];
    if (i % 3 === 0) calls.push({ kind: 'write', waitMs: 2 });
    if (i % 4 === 0) calls.push({ kind: 'approved-bulk', waitMs: 8 });
    if (i % 5 === 0) calls.push({ kind: 'denied', waitMs: 0 });
    facts.push(
      recordRun(recorder, {
        runId: `run-b${i}`,
        canary: CANARY,
        arm: 'baseline',
        version: 'v1',
        policyVersion: 4,
        calls,
        status: i === 7 ? 'halted' : i === 11 ? 'failed' : 'succeeded',
      }),
    );
    recorder.wait(i * 7);
  }
  for (let j = 0; j < 20; j++) {
    const calls: { kind: Call; waitMs: number }[] = [{ kind: 'read', waitMs: (j % 5) * 4 + 10 }];
    if (j % 2 === 0) calls.push({ kind: 'escaped-bulk', waitMs: 3 });
    if (j === 4) calls.push({ kind: 'escaped-money', waitMs: 3 });
    if (j % 6 === 0) calls.push({ kind: 'denied', waitMs: 1 });
    facts.push(
      recordRun(recorder, {
        runId: `run-c${j}`,
        canary: CANARY,
        arm: 'canary',
        version: 'v2',
        policyVersion: 5,
        calls,
        status: j === 19 ? 'running' : j === 5 ? 'failed' : 'succeeded',
      }),
    );
    recorder.wait(j * 11);
  }
  return facts;
}

/** numpy's default percentile: linear interpolation between the closest ranks. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[Math.min(low + 1, sorted.length - 1)] ?? Number.NaN;
  return a + (h - low) * (b - a);
}

let facts: Facts[];
const SINCE = '2026-11-02 09:30:00.000000';

async function rows(sql: string, forEnv = env, since = SINCE) {
  return (await store.readOnlyQuery(sql, { env: forEnv, canary: CANARY, since })).rows;
}

beforeAll(async () => {
  const recorder = new RunRecorder(env, START);
  facts = record(recorder);
  changed(recorder, {
    change: 'promoted',
    reason: 'fewer denials',
    activated_policy_version: 6,
    by: 'human:bob',
  });
  const other = new RunRecorder(otherEnv, START);
  record(other);
  dataDir = await makeTempDir('warden-cli-canary-');
  store = await openEventStore({ kind: 'embedded', dataDir });
  await store.migrate();
  const all = recorder.rows();
  // A run.started stored twice (a retried insert past deduplication) counts once.
  const twice = all.find((row) => row.type === 'run.started' && row.run_id === 'run-b3');
  await store.insertEvents([...all, ...(twice === undefined ? [] : [twice])], {
    deduplicationToken: `${env}:canary`,
  });
  await store.insertEvents(other.rows(), { deduplicationToken: `${env}:other` });

  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-canary-test' });
  sql = answerAuditSql(nc, env, store);
  policyApi = await startStandInApi(nc, env, 'policy', ['canary-list']);
}, 60_000);

afterAll(async () => {
  policyApi.stop();
  sql.unsubscribe();
  await nc.close();
  await nats.stop();
  await store.close();
  await removeTempDir(dataDir);
});

const of = (arm: 'baseline' | 'canary') => facts.filter((f) => f.arm === arm);

describe('the canary report queries on the audit log', () => {
  it('counts each arm of the canary, and no other run', async () => {
    const arms = await rows(CANARY_ARMS_SQL);
    expect(arms.map((r) => r.arm)).toEqual(['baseline', 'canary']);
    for (const row of arms) {
      const runs = of(row.arm as 'baseline');
      const count = (pick: (f: Facts) => boolean) => String(runs.filter(pick).length);
      const sum = (pick: (f: Facts) => number) => String(runs.reduce((s, f) => s + pick(f), 0));
      expect(row).toMatchObject({
        runs: count(() => true),
        succeeded: count((f) => f.status === 'succeeded'),
        failed: count((f) => f.status === 'failed'),
        halted: count((f) => f.status === 'halted'),
        running: count((f) => f.status === 'running'),
        calls: sum((f) => f.calls),
        runs_with_denial: count((f) => f.refused > 0),
        calls_denied: sum((f) => f.refused),
        approvals_requested: sum((f) => f.approvals),
        escaped_errors: sum((f) => f.escaped),
        runs_with_escaped_error: count((f) => f.escaped > 0),
        cost_micro_usd: sum((f) => f.cost),
        succeeded_cost_micro_usd: sum((f) => (f.status === 'succeeded' ? f.cost : 0)),
        durations: count((f) => f.durationUs !== null),
        versions: [row.arm === 'canary' ? 'v2' : 'v1'],
        policy_versions: [row.arm === 'canary' ? '5' : '4'],
      });
      const durations = runs.flatMap((f) => (f.durationUs === null ? [] : [f.durationUs]));
      const quantiles = row.duration_us as number[];
      [0.5, 0.95, 0.99].forEach((p, i) => {
        expect(quantiles[i]).toBeCloseTo(quantile(durations, p), 6);
      });
    }
    // The story as designed: the canary's policy let bulk closes run without a human.
    expect(arms[0]).toMatchObject({ escaped_errors: '0', approvals_requested: '10' });
    expect(arms[1]).toMatchObject({ escaped_errors: '11', runs_with_escaped_error: '10' });
  });

  it('gives the call latency percentiles per arm', async () => {
    const latency = await rows(CANARY_LATENCY_SQL);
    expect(latency.map((r) => r.arm)).toEqual(['baseline', 'canary']);
    for (const row of latency) {
      const values = of(row.arm as 'baseline').flatMap((f) => f.latenciesUs);
      expect(row.calls).toBe(String(values.length));
      [0.5, 0.95, 0.99].forEach((p, i) => {
        expect((row.latency_us as number[])[i]).toBeCloseTo(quantile(values, p), 6);
      });
    }
  });

  it('computes the rank sums and tie terms the rank test needs, as stats.ts does', async () => {
    const ranks = await rows(CANARY_RANKS_SQL);
    expect(ranks.map((r) => r.metric)).toEqual([...RANKED_METRICS].sort());
    const samples: Record<string, (f: Facts) => number[]> = {
      calls_denied: (f) => [f.refused],
      approvals_requested: (f) => [f.approvals],
      escaped_errors: (f) => [f.escaped],
      cost_per_successful_run: (f) => (f.status === 'succeeded' ? [f.cost] : []),
      run_duration: (f) => (f.durationUs === null ? [] : [f.durationUs]),
      call_latency: (f) => f.latenciesUs,
    };
    for (const row of ranks) {
      const pick = samples[row.metric as string]!;
      const b = of('baseline').flatMap(pick);
      const c = of('canary').flatMap(pick);
      const expected = rankSummary(b, c);
      expect(row).toEqual({
        metric: row.metric,
        n_baseline: expected.na,
        n_canary: expected.nb,
        sum_baseline: b.reduce((s, v) => s + v, 0),
        sum_canary: c.reduce((s, v) => s + v, 0),
        rank_sum_canary: expected.rankSumB,
        tie_term: expected.tieTerm,
      });
    }
  });

  it('keeps to the window and to the env', async () => {
    // From 09:00 the early run of the canary counts too.
    const arms = await rows(CANARY_ARMS_SQL, env, '2026-11-02 09:00:00.000000');
    expect(arms[1]).toMatchObject({ runs: String(of('canary').length + 1) });
    const later = await rows(CANARY_ARMS_SQL, env, '2026-11-03 00:00:00.000000');
    expect(later).toEqual([]);
    const other = await rows(CANARY_ARMS_SQL, otherEnv);
    expect(other.map((r) => r.runs)).toEqual(['40', '20']);
  });

  it('finds a canary and how it ended from its canary.changed events', async () => {
    const events = await store.readOnlyQuery(CANARY_EVENTS_SQL, { env, canary: CANARY });
    expect(canaryFromEvents(events.rows)).toEqual({
      canary_id: CANARY,
      workflow: 'support',
      version: 'v2',
      baseline: 'v1',
      percent: 25,
      policy_version: 5,
      started_at: expect.stringMatching(/^2026-11-02T09:30:00\.\d{6}Z$/) as unknown,
      started_by: 'human:alice',
      reason: 'new prompt',
      status: 'promoted',
      ended: {
        at: expect.stringMatching(/^2026-11-02T09:\d\d:\d\d\.\d{6}Z$/) as unknown,
        by: 'human:bob',
        reason: 'fewer denials',
        activated_policy_version: 6,
      },
    });
    const last = await store.readOnlyQuery(LAST_CANARY_SQL, { env, workflow: 'support' });
    expect(last.rows).toEqual([expect.objectContaining({ canary_id: CANARY, change: 'promoted' })]);
  });
});

describe('warden canary report', () => {
  function warden(...args: string[]): Promise<unknown> {
    return inProcessWarden(canaryCommand()).parseAsync(
      ['canary', 'report', ...args, '--env', env, '--nats', nats.url, '--token', 'tok'],
      { from: 'user' },
    );
  }

  const view: CanaryView = {
    workflow: 'support',
    canary_id: CANARY,
    version: 'v2',
    baseline: 'v1',
    percent: 25,
    policy_version: 5,
    started_at: '2026-11-02T10:30:00.000000Z',
    started_by: 'human:alice',
  };

  it('reports the canary in force as JSON, its window opening an hour before its start', async () => {
    policyApi.answer('canary-list', { ok: true, result: { canaries: [view], releases: [] } });
    await warden('--workflow', 'support', '--json');
    expect(policyApi.received.at(-1)).toEqual({
      op: 'canary-list',
      body: {},
      credential: 'tok',
    });
    const report = JSON.parse(stdout.text) as CanaryReport;
    expect(report.window).toEqual({
      since: 'the canary started, less an hour',
      from: '2026-11-02T09:30:00.000000Z',
    });
    expect(report.canary).toMatchObject({ canary_id: CANARY, status: 'in_force' });
    expect(report.arms.baseline).toMatchObject({
      version: 'v1',
      runs: 40,
      escaped_errors: 0,
      policy_versions: [4],
    });
    expect(report.arms.canary).toMatchObject({
      version: 'v2',
      runs: 20,
      running: 1,
      escaped_errors: 11,
      runs_with_escaped_error: 10,
      policy_versions: [5],
    });
    const escaped = report.comparisons.find((c) => c.metric === 'runs_with_escaped_error');
    expect(escaped).toMatchObject({
      baseline: 0,
      canary: 0.5,
      n_baseline: 40,
      n_canary: 20,
      test: 'fisher exact',
      verdict: 'significant',
      note: 'only 20 runs in the canary arm: the p-value is rough',
    });
    expect(report.comparisons.map((c) => c.metric)).toEqual([
      'succeeded',
      'halted',
      'runs_with_denial',
      'runs_with_escaped_error',
      'calls_denied',
      'approvals_requested',
      'escaped_errors',
      'cost_per_successful_run',
      'run_duration',
      'call_latency',
    ]);
  });

  it('prints the arms side by side and the comparisons as tables', async () => {
    policyApi.answer('canary-list', { ok: true, result: { canaries: [view], releases: [] } });
    await warden('--workflow', 'support');
    // Without the table's colours.
    const text = stripVTControlCharacters(stdout.text);
    expect(text).toContain(`canary ${CANARY} of support, env ${env}: v2 on 25% of new runs`);
    expect(text).toMatch(/escaped errors\s*│\s*0 in 0 runs\s*│\s*11 in 10 runs/);
    expect(text).toMatch(/runs with an escaped error\s*│\s*0\.0%\s*│\s*50\.0%\s*│\s*<0\.001/);
    expect(text).toContain('note: the canary arm has 20 runs (fewer than 30)');
    expect(text).toContain(
      `next: \`warden canary promote --workflow support --reason "…" --env ${env}\``,
    );
  });

  it('reports an ended canary named by id, from the log alone', async () => {
    policyApi.received.length = 0;
    await warden('--workflow', 'support', '--canary', CANARY, '--since', '2026-11-02', '--json');
    expect(policyApi.received).toEqual([]);
    const report = JSON.parse(stdout.text) as CanaryReport;
    expect(report.canary.status).toBe('promoted');
    expect(report.window).toEqual({ since: '2026-11-02', from: '2026-11-02T00:00:00.000000Z' });
    // The early run is in this window.
    expect(report.arms.canary.runs).toBe(21);
  });

  it('says what to do when the workflow has no canary in force', async () => {
    policyApi.answer('canary-list', { ok: true, result: { canaries: [], releases: [] } });
    const error = await warden('--workflow', 'support').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      message: `workflow support has no canary in force in env ${env}`,
      hint: expect.stringContaining(
        `Its last canary, ${CANARY}, was promoted at 2026-11-02T09:`,
      ) as unknown,
    });
  });
});
