import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DataOf, EnvelopeBase } from '@warden/contracts';
import { openEventStore, type EventStore } from '@warden/event-store';
import { connectNats } from '@warden/messaging';
import { makeTempDir, removeTempDir, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  policiesCommand,
  SHADOW_BY_POLICY_SQL,
  SHADOW_BY_TOOL_SQL,
  SHADOW_COMPARED_SQL,
  SHADOW_DIVERGED_SQL,
  SHADOW_PERIODS_SQL,
  shadowReportFrom,
  shadowReportText,
  type ShadowReport,
} from '../src/commands/policies.command.js';
import { parseRunsSince, type RunsSince } from '../src/runs/run-queries.js';
import { captureStdoutInEachTest, inProcessWarden } from './support/cli.js';
import { RunRecorder } from './support/run-events.js';
import { answerAuditSql } from './support/audit-sql.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/*
 * The SQL of `warden policies shadow-report` on a real chDB audit log with every migration applied
 * (0006's shadow views included), fed rows the way the trace collector writes them: a shadow
 * version promoted, then another stopped, with divergences, plain decisions and an unknown tool.
 * Then the commands in-process on real NATS: the collector's `audit.sql` answered from that store
 * as the collector does, the policy service's API by a stand-in (the service's side is proven in
 * apps/policy-decision/test/shadow.int.spec.ts).
 */

const env = uniqueEnv('cli-shadow');
const otherEnv = uniqueEnv('cli-shadow-other');
let store: EventStore;
let dataDir: string;
let nats: TestNats;
let nc: NatsConnection;
let sql: Subscription;
let policyApi: StandInApi;
const stdout = captureStdoutInEachTest();

function warden(...args: string[]): Promise<unknown> {
  return inProcessWarden(policiesCommand()).parseAsync(
    ['policies', ...args, '--env', env, '--nats', nats.url],
    { from: 'user' },
  );
}

const HASH = 'c'.repeat(64);
const ids = {
  a: '01JD4K6Z8V3M2T9Q7W5X1Y0A01',
  b: '01JD4K6Z8V3M2T9Q7W5X1Y0A02',
  c: '01JD4K6Z8V3M2T9Q7W5X1Y0A03',
  d: '01JD4K6Z8V3M2T9Q7W5X1Y0A04',
  unknown: '01JD4K6Z8V3M2T9Q7W5X1Y0A05',
  e: '01JD4K6Z8V3M2T9Q7W5X1Y0A06',
  f: '01JD4K6Z8V3M2T9Q7W5X1Y0A07',
  canary: '01JD4K6Z8V3M2T9Q7W5X1Y0A08',
};

type Effect = DataOf<'policy.decided'>['effect'];

function record(recorder: RunRecorder): void {
  const publish = (data: Partial<DataOf<'policy.published'>> & { version: number }) =>
    recorder.emit(
      'policy.published',
      { content_hash: HASH, author: 'human:alice', mode: 'active', ...data },
      {},
    );
  const runs = new Map<string, EnvelopeBase>();
  const run = (runId: string) => {
    const found = runs.get(runId);
    if (found !== undefined) return found;
    const started = recorder.emit('run.started', {}, { runId, agentId: 'triage-bot' });
    runs.set(runId, started);
    return started;
  };
  /** An intent decided under `version`, and, when `shadow` is given, its divergence. */
  const decide = (
    runId: string,
    intentId: string,
    tool: string,
    active: { version: number; effect: Effect; ids: string[]; reason?: 'unknown_tool' },
    shadow?: { version: number; effect: Effect; ids: string[] },
  ) => {
    const args = { ticket_id: 1 };
    const proposed = recorder.emit(
      'intent.proposed',
      { tool, args, step: 1 },
      { cause: run(runId), intentId },
    );
    if (shadow !== undefined) {
      recorder.emit(
        'policy.shadow_diverged',
        {
          tool,
          step: 1,
          active_version: active.version,
          active_effect: active.effect,
          active_policy_ids: active.ids,
          shadow_version: shadow.version,
          shadow_effect: shadow.effect,
          shadow_policy_ids: shadow.ids,
          shadow_errors: [],
        },
        { cause: proposed },
      );
    }
    recorder.emit(
      'policy.decided',
      {
        tool,
        args,
        step: 1,
        effect: active.effect,
        determining_policy_ids: active.ids,
        policy_version: active.version,
        errors: [],
        eval_us: 30,
        ...(active.reason === undefined ? {} : { reason: active.reason }),
      },
      { cause: proposed },
    );
  };

  publish({ version: 1, message: 'reference policies' });
  recorder.wait(60_000);
  // 09:01: shadow v2 starts.
  publish({ version: 2, mode: 'shadow', author: 'human:bob', message: 'stricter' });
  const allow = { version: 1, effect: 'allow' as const, ids: ['builtin-permit'] };
  decide('run-1', ids.a, 'echo', allow, { version: 2, effect: 'deny', ids: [] });
  decide(
    'run-1',
    ids.b,
    'zendesk.bulk_close',
    { version: 1, effect: 'allow', ids: ['small-bulk-close'] },
    { version: 2, effect: 'approval_required', ids: ['bulk-needs-leads'] },
  );
  decide('run-1', ids.c, 'zendesk.get_ticket', { ...allow, ids: ['reads-in-domain'] });
  decide('run-1', ids.unknown, 'payments.refund', {
    version: 1,
    effect: 'deny',
    ids: [],
    reason: 'unknown_tool',
  });
  // A canary's run decided under its own policy version (here the shadow's): never compared.
  decide('run-canary', ids.canary, 'echo', { version: 2, effect: 'deny', ids: [] });
  recorder.wait(60_000);
  decide('run-2', ids.d, 'echo', allow, { version: 2, effect: 'deny', ids: [] });
  recorder.wait(60 * 60_000);
  // About 10:02: promoted as v3 (its content, rollback_of 2).
  publish({ version: 3, rollback_of: 2, author: 'human:carol', message: 'ship it' });
  decide('run-3', ids.e, 'echo', { version: 3, effect: 'deny', ids: [] });
  recorder.wait(60_000);
  publish({ version: 4, mode: 'shadow', message: 'next idea' });
  decide('run-3', ids.f, 'echo', { version: 3, effect: 'deny', ids: [] });
  recorder.wait(60_000);
  // Stopped: v5 carries the active v3's content.
  publish({ version: 5, rollback_of: 3, author: 'human:dave', message: 'not yet' });
}

async function report(since: RunsSince, forEnv = env): Promise<ShadowReport> {
  const params = { env: forEnv, since: since.from, limit: '50' };
  const rows = async (sql: string) => (await store.readOnlyQuery(sql, params)).rows;
  return shadowReportFrom(forEnv, since, {
    periods: await rows(SHADOW_PERIODS_SQL),
    compared: await rows(SHADOW_COMPARED_SQL),
    diverged: await rows(SHADOW_DIVERGED_SQL),
    byPolicy: await rows(SHADOW_BY_POLICY_SQL),
    byTool: await rows(SHADOW_BY_TOOL_SQL),
  });
}

beforeAll(async () => {
  const recorder = new RunRecorder(env);
  record(recorder);
  // Another env's shadow never shows.
  const other = new RunRecorder(otherEnv);
  record(other);
  dataDir = await makeTempDir('warden-cli-shadow-');
  store = await openEventStore({ kind: 'embedded', dataDir });
  await store.migrate();
  const rows = recorder.rows();
  // A divergence stored twice (a retried insert past deduplication) counts once.
  const twice = rows.find((row) => row.type === 'policy.shadow_diverged');
  await store.insertEvents([...rows, ...(twice === undefined ? [] : [twice])], {
    deduplicationToken: `${env}:shadow`,
  });
  await store.insertEvents(other.rows(), { deduplicationToken: `${env}:other` });

  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cli-shadow-test' });
  sql = answerAuditSql(nc, env, store);
  policyApi = await startStandInApi(nc, env, 'policy', ['policy-promote', 'policy-shadow-stop']);
});

afterAll(async () => {
  policyApi.stop();
  sql.unsubscribe();
  await nc.close();
  await nats.stop();
  await store.close();
  await removeTempDir(dataDir);
});

describe('policies shadow-report on the audit log', () => {
  it('tells each shadow version, what ended it, and how many decisions it was compared on', async () => {
    const { shadows } = await report(parseRunsSince('2026-11-01'));
    expect(shadows).toEqual([
      {
        shadow_version: 2,
        active_version: 1,
        started_at: '2026-11-02T09:01:00Z',
        published_by: 'human:bob',
        message: 'stricter',
        ended_at: expect.stringMatching(/^2026-11-02T10:02:/) as unknown,
        ended_by_version: 3,
        ended_by: 'human:carol',
        ended_message: 'ship it',
        ended_how: 'promoted',
        // a, b, c and d; neither the unknown tool nor the canary's intent is compared.
        compared: 4,
        diverged: 3,
      },
      expect.objectContaining({
        shadow_version: 4,
        active_version: 3,
        ended_by_version: 5,
        ended_by: 'human:dave',
        ended_how: 'stopped',
        compared: 1,
        diverged: 0,
      }),
    ]);
  });

  it('groups the divergences by policy and by tool, with the first and last intent as examples', async () => {
    const { by_policy, by_tool } = await report(parseRunsSince('2026-11-01'));
    expect(by_policy).toEqual([
      {
        shadow_version: 2,
        active_effect: 'allow',
        shadow_effect: 'deny',
        active_policy_ids: ['builtin-permit'],
        shadow_policy_ids: [],
        intents: 2,
        examples: [
          { intent_id: ids.a, run_id: 'run-1' },
          { intent_id: ids.d, run_id: 'run-2' },
        ],
      },
      {
        shadow_version: 2,
        active_effect: 'allow',
        shadow_effect: 'approval_required',
        active_policy_ids: ['small-bulk-close'],
        shadow_policy_ids: ['bulk-needs-leads'],
        intents: 1,
        examples: [{ intent_id: ids.b, run_id: 'run-1' }],
      },
    ]);
    expect(by_tool).toEqual([
      expect.objectContaining({ tool: 'echo', shadow_effect: 'deny', intents: 2 }),
      expect.objectContaining({
        tool: 'zendesk.bulk_close',
        shadow_effect: 'approval_required',
        intents: 1,
        examples: [{ intent_id: ids.b, run_id: 'run-1' }],
      }),
    ]);
  });

  it('keeps to the window and to the env', async () => {
    // v2 ended at 10:02; v4 was in force from 10:03 to 10:04.
    const later = await report({ text: '10:02:30', from: '2026-11-02 10:02:30.000000' });
    expect(later.shadows.map((s) => s.shadow_version)).toEqual([4]);
    expect(later.by_policy).toEqual([]);
    const after = await report({ text: 'after', from: '2026-11-03 00:00:00.000000' });
    expect(after.shadows).toEqual([]);
    // The other env's log is the same story: its own two shadow versions, never this env's.
    const other = await report(parseRunsSince('2026-11-01'), otherEnv);
    expect(other.shadows.map((s) => [s.shadow_version, s.compared])).toEqual([
      [2, 4],
      [4, 1],
    ]);
  });

  it('renders the report as summary lines and two tables', async () => {
    const text = shadowReportText(await report(parseRunsSince('2026-11-01')));
    expect(text.summary[0]).toBe(
      `shadow policy report, env ${env}, since 2026-11-01 (2026-11-01T00:00:00Z)`,
    );
    expect(text.summary[1]).toMatch(
      /^shadow v2 beside active v1, published 2026-11-02T09:01:00Z by human:bob: "stricter"; promoted as v3 at 2026-11-02T10:02:\d\dZ by human:carol$/,
    );
    expect(text.summary[2]).toBe('  compared on 4 decisions in the window, 3 diverged (75.00%)');
    expect(text.summary[3]).toMatch(
      /^shadow v4 beside active v3, .*; stopped \(v5 at .* by human:dave\)$/,
    );
    expect(text.byPolicy.rows[0]).toEqual({
      shadow: 'v2',
      'active → shadow': 'allow → deny',
      'active policies': 'builtin-permit',
      'shadow policies': '(none: deny by default)',
      intents: '2',
      examples: `${ids.a} (run run-1)\n${ids.d} (run run-2)`,
    });
  });
});

describe('warden policies shadow-report, promote and stop-shadow', () => {
  it('prints the shadow versions, then the divergences by policy and by tool', async () => {
    await warden('shadow-report', '--since', '2026-11-01');
    const text = stdout.text;
    expect(text).toContain(`shadow policy report, env ${env}, since 2026-11-01`);
    expect(text).toContain('compared on 4 decisions in the window, 3 diverged (75.00%)');
    expect(text).toMatch(
      /by policy\n[\s\S]*allow → deny[\s\S]*builtin-permit[\s\S]*\(none: deny by\s/,
    );
    expect(text).toMatch(/by tool\n[\s\S]*zendesk\.bulk_close[\s\S]*allow → approval_requi/);
    expect(text).toContain(`${ids.a} (run run-1)`);
    expect(text).toContain(
      'compared: decisions made under the active version while the shadow version was in force',
    );
  });

  it('prints JSON for scripts, and says when no shadow version was in force', async () => {
    await warden('shadow-report', '--since', '2026-11-01', '--json');
    const report = JSON.parse(stdout.text) as ShadowReport;
    expect(report.shadows.map((s) => s.ended_how)).toEqual(['promoted', 'stopped']);
    stdout.clear();
    // A window that starts after the last shadow ended.
    await warden('shadow-report', '--since', '1m');
    expect(stdout.text).toMatch(/^no shadow policy version was in force in env .* since 1m\n/);
  });

  it('promotes the shadow version it names and stops one, with the token and message', async () => {
    const summary = {
      version: 6,
      mode: 'active',
      content_hash: HASH,
      author: 'human:alice',
      message: 'ship it',
      published_at: '2026-11-02T11:00:00.000000Z',
      rollback_of: 4,
      policy_ids: ['builtin-permit'],
    };
    policyApi.answer('policy-promote', {
      ok: true,
      result: { version: summary, promoted: 4, already: false },
    });
    await warden('promote', '--shadow', '4', '--message', 'ship it', '--token', 'tok');
    expect(policyApi.received.at(-1)).toEqual({
      op: 'policy-promote',
      body: { message: 'ship it', shadow: 4 },
      credential: 'tok',
    });
    expect(stdout.text).toMatch(/^shadow version 4 promoted: version 6 is active with its content/);

    policyApi.answer('policy-shadow-stop', {
      ok: false,
      error: {
        code: 'no_shadow',
        message: 'no shadow version is in force (version 6 is active): nothing to stop',
      },
    });
    const error = await warden('stop-shadow', '--token', 'tok').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(policyApi.received.at(-1)).toMatchObject({ op: 'policy-shadow-stop', body: {} });
    expect(error).toMatchObject({
      code: 'no_shadow',
      message: expect.stringMatching(/nothing to stop/) as unknown,
    });
  });
});
