import type { NatsConnection } from '@nats-io/transport-node';
import {
  buildEvent,
  canaryArm,
  type DataOf,
  type Envelope,
  type EventType,
  type Principal,
} from '@warden/contracts';
import { connectNats, ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import { builtinToolSources, shippedSchemaText } from '@warden/policy';
import type { RunningService } from '@warden/service';
import {
  eventsOfType,
  proposedEvent,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRegistry } from '../src/policies/policy-registry.js';
import { PolicyStore } from '../src/policies/policy-store.js';
import { ReleaseCatalog } from '../src/releases/release-catalog.js';
import { ReleaseStore } from '../src/releases/release-store.js';
import { replayDecisionLog } from '../src/replay.js';
import { service } from '../src/service.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import { ToolStore } from '../src/tools/tool-store.js';
import {
  ACTIVE_SET,
  callPolicyApi,
  standInIdentityBroker,
  STRICT_SET,
} from './support/policy-fixtures.js';

/*
 * Canary releases on a real policy-decision service and a real NATS (issue 9 item 5): a canary
 * started through the API gives its version to its share of a workflow's new runs (asked by
 * agents through `release-assign`, sticky per run), decides those runs' intents under its policy
 * version, and ends by promotion (its version becomes the release, its policy the active one) or
 * abort, each change in the log with who and why. The identity broker's `human-introspect` is
 * answered by a stand-in, as in shadow.int.spec.ts.
 */

const WORKFLOW = 'triage';
const caller = { human_id: 'policy-admin', roles: ['admin'] };
const principal: Principal = { agent_id: 'triage-1', owner: 'alice', domains: ['support'] };

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let policies: PolicyRegistry;
let policyStore: PolicyStore;
let releases: ReleaseStore;
let toolStore: ToolStore;
let running: RunningService | undefined;
const env = uniqueEnv('canary');

/** One policy API call (`{ ok, result | error }`), with a human token unless `token` is null. */
const callApi = (op: string, body: unknown, token: string | null) =>
  callPolicyApi(nc, env, op, body, token);

async function assign(runId: string, workflow = WORKFLOW): Promise<Record<string, unknown>> {
  const reply = (await callApi('release-assign', { workflow, run_id: runId }, null)) as {
    ok: boolean;
    result: Record<string, unknown>;
  };
  expect(reply.ok).toBe(true);
  return reply.result;
}

/** An `echo` intent of run `runId` of `workflow`, as the identity broker passes it on. */
function echo(runId: string, workflow = WORKFLOW): Envelope<'intent.authenticated'> {
  const proposed = proposedEvent(env, {
    agent: principal.agent_id,
    run: runId,
    tool: 'echo',
    args: { text: 'hi' },
  });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    workflow,
    producer: TEST_PRODUCER,
    data: { ...proposed.data, principal },
  });
}

async function outputOf<T extends EventType>(
  type: T,
  intent: Envelope,
): Promise<Envelope<T> | undefined> {
  return (await eventsOfType(nc, env, type)).find((e) => e.intent_id === intent.intent_id) as
    Envelope<T> | undefined;
}

async function decide(intent: Envelope<'intent.authenticated'>): Promise<DataOf<'policy.decided'>> {
  await publisher.publish(intent);
  return (await waitFor(() => outputOf('policy.decided', intent), { timeoutMs: 15_000 })).data;
}

/** Run ids until `count` of them fall on `arm` of canary `canaryId`. */
function runsOn(canaryId: string, percent: number, arm: string, count: number): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const runId = `run-${arm}-${i}`;
    if (canaryArm(canaryId, runId, percent) === arm) found.push(runId);
  }
  return found;
}

let activeVersion = 0;
let strictVersion = 0;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'canary-test' });
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  running = await service.start(
    service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
  );
  const kv = await ensureKvBuckets(nc, env, ['tools', 'policies', 'releases']);
  policyStore = new PolicyStore(kv.policies);
  releases = new ReleaseStore(kv.releases);
  toolStore = new ToolStore(kv.tools);
  policies = new PolicyRegistry(nc, publisher, policyStore);
  const tools = new ToolRegistry(nc, publisher, toolStore);
  for (const { file, source } of builtinToolSources())
    await tools.register({ source, file }, caller);
  const schema = shippedSchemaText();
  activeVersion = (
    await policies.publish(
      { schema, files: ACTIVE_SET(), message: 'reference', mode: 'active' },
      caller,
    )
  ).version.version;
  // Published as a shadow, then stopped: a stored candidate that nothing enforces.
  strictVersion = (
    await policies.publish(
      { schema, files: STRICT_SET(), message: 'candidate: only noop', mode: 'shadow' },
      caller,
    )
  ).version.version;
  activeVersion = (await policies.stopShadow({ message: 'kept for the canary' }, caller)).version
    .version;
  standInIdentityBroker(nc, env);
  await nc.flush();
});

afterAll(async () => {
  await running?.stop();
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('canary releases', () => {
  let canaryId = '';

  it('answers no release for a workflow without a canary or a release', async () => {
    expect(await assign('run-before')).toEqual({});
  });

  it('starts a canary for admins only, refusing what it cannot do and saying why', async () => {
    const start = { workflow: WORKFLOW, version: 'v2', percent: 50, policy_version: strictVersion };
    expect(await callApi('canary-start', start, 'support-token')).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await callApi('canary-start', { ...start, percent: 100 }, 'admin-token')).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
    expect(
      await callApi('canary-start', { ...start, policy_version: 99 }, 'admin-token'),
    ).toMatchObject({
      ok: false,
      error: {
        code: 'not_found',
        message: expect.stringMatching(/warden policies shadow/) as unknown,
      },
    });

    const started = (await callApi(
      'canary-start',
      { ...start, reason: 'stricter built-ins' },
      'admin-token',
    )) as { ok: true; result: { canary: { canary_id: string } } };
    expect(started).toMatchObject({
      ok: true,
      result: {
        canary: {
          workflow: WORKFLOW,
          version: 'v2',
          percent: 50,
          policy_version: strictVersion,
          started_by: 'human:ada',
          reason: 'stricter built-ins',
        },
      },
    });
    canaryId = started.result.canary.canary_id;
    expect(await callApi('canary-start', { ...start, version: 'v3' }, 'admin-token')).toMatchObject(
      { ok: false, error: { code: 'canary_running' } },
    );
    expect(await callApi('canary-list', {}, 'support-token')).toMatchObject({
      ok: true,
      result: { canaries: [{ canary_id: canaryId, version: 'v2' }], releases: [] },
    });
  });

  it('assigns its share of new runs, the same answer every time for a run', async () => {
    const runIds = Array.from({ length: 400 }, (_, i) => `run-share-${i}`);
    const answers = await Promise.all(runIds.map((runId) => assign(runId)));
    const onCanary = answers.filter((answer) => answer.version === 'v2').length;
    // 50% of 400: 200, and three standard deviations (10 each) either side.
    expect(onCanary).toBeGreaterThanOrEqual(170);
    expect(onCanary).toBeLessThanOrEqual(230);
    for (const [i, answer] of answers.entries()) {
      const arm = canaryArm(canaryId, runIds[i] ?? '', 50);
      expect(answer).toEqual({
        ...(arm === 'canary' ? { version: 'v2' } : {}),
        canary: { id: canaryId, arm },
      });
    }
    expect(await Promise.all(runIds.slice(0, 20).map((runId) => assign(runId)))).toEqual(
      answers.slice(0, 20),
    );
    // Another workflow is untouched.
    expect(await assign('run-share-0', 'other-workflow')).toEqual({});
  });

  it("decides the canary side's intents under its policy version, the rest under the active one", async () => {
    const [canaryRun] = runsOn(canaryId, 50, 'canary', 1);
    const [baselineRun] = runsOn(canaryId, 50, 'baseline', 1);
    const onCanary = await waitFor(
      async () => {
        const decided = await decide(echo(canaryRun ?? ''));
        return decided.policy_version === strictVersion ? decided : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(onCanary.effect).toBe('deny');
    expect(await decide(echo(baselineRun ?? ''))).toMatchObject({
      effect: 'allow',
      policy_version: activeVersion,
    });
    // The same run id outside the workflow is not in the canary.
    expect(await decide(echo(canaryRun ?? '', 'other-workflow'))).toMatchObject({
      effect: 'allow',
      policy_version: activeVersion,
    });
  });

  it('promotes: the version becomes the release and the policy the active one, logged with who and why', async () => {
    expect(
      await callApi('canary-promote', { workflow: WORKFLOW, reason: '' }, 'admin-token'),
    ).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    const promoted = (await callApi(
      'canary-promote',
      { workflow: WORKFLOW, reason: 'fewer escaped errors' },
      'admin-token',
    )) as { ok: true; result: { policy_version: { version: number } } };
    expect(promoted).toMatchObject({
      ok: true,
      result: {
        canary: { canary_id: canaryId },
        release: {
          workflow: WORKFLOW,
          version: 'v2',
          canary_id: canaryId,
          promoted_by: 'human:ada',
        },
        policy_version: { mode: 'active', rollback_of: strictVersion },
      },
    });
    const promotedPolicy = promoted.result.policy_version.version;
    expect((await policyStore.head()).active).toBe(promotedPolicy);

    // Every new run now gets v2, with no canary; and every run is decided under the new policy.
    expect(await assign('run-after-promotion')).toEqual({ version: 'v2' });
    const [baselineRun] = runsOn(canaryId, 50, 'baseline', 1);
    const decided = await waitFor(
      async () => {
        const answer = await decide(echo(baselineRun ?? ''));
        return answer.policy_version === promotedPolicy ? answer : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(decided.effect).toBe('deny');
    expect(
      await callApi('canary-abort', { workflow: WORKFLOW, reason: 'again' }, 'admin-token'),
    ).toMatchObject({ ok: false, error: { code: 'no_canary' } });
  });

  it('aborts a canary: the release stays, and the log keeps every change', async () => {
    const started = (await callApi(
      'canary-start',
      { workflow: WORKFLOW, version: 'v3', percent: 12.5 },
      'admin-token',
    )) as { ok: true; result: { canary: { canary_id: string; baseline?: string } } };
    expect(started.result.canary.baseline).toBe('v2');
    const aborted = await callApi(
      'canary-abort',
      { workflow: WORKFLOW, reason: 'tail latency doubled' },
      'admin-token',
    );
    expect(aborted).toMatchObject({ ok: true, result: { canary: { version: 'v3' } } });
    expect(await assign('run-after-abort')).toEqual({ version: 'v2' });
    expect(
      await callApi(
        'canary-start',
        { workflow: WORKFLOW, version: 'v2', percent: 5 },
        'admin-token',
      ),
    ).toMatchObject({ ok: false, error: { code: 'same_version' } });

    const changes = (
      (await eventsOfType(nc, env, 'canary.changed')) as Envelope<'canary.changed'>[]
    ).map((e) => [e.workflow, e.data.change, e.data.version, e.data.by, e.data.reason ?? null]);
    expect(changes).toEqual([
      [WORKFLOW, 'started', 'v2', 'human:ada', 'stricter built-ins'],
      [WORKFLOW, 'promoted', 'v2', 'human:ada', 'fewer escaped errors'],
      [WORKFLOW, 'started', 'v3', 'human:ada', null],
      [WORKFLOW, 'aborted', 'v3', 'human:ada', 'tail latency doubled'],
    ]);
  });

  it('keeps its view live through canary, release and policy changes', async () => {
    const quiet = {
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      debug: () => undefined,
    };
    const catalog = new ReleaseCatalog(releases, policyStore, env, quiet, {
      probeIntervalMs: 50,
    });
    await catalog.start();
    try {
      await callApi(
        'canary-start',
        { workflow: 'probe', version: 'p2', percent: 50 },
        'admin-token',
      );
      await callApi('canary-promote', { workflow: 'probe', reason: 'probe' }, 'admin-token');
      await policies.stopShadow({}, caller).catch(() => undefined);
      await policies.rollback(activeVersion, 'probe', caller);
      // Several probes: a watch that missed a write of its bucket would be declared dead by now.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(catalog.status.ok).toBe(true);
      expect(await catalog.assign('probe', 'run-1')).toEqual({ version: 'p2' });
    } finally {
      catalog.stop();
    }
  });

  it('rebuilds the canaries and releases from the log', async () => {
    await callApi('canary-start', { workflow: 'other', version: 'b', percent: 1 }, 'admin-token');
    const before = await releases.list();
    for await (const key of await releases.kv.keys()) {
      if (key.startsWith('canary.') || key.startsWith('release.')) await releases.kv.purge(key);
    }
    expect(await releases.list()).toEqual({ canaries: [], releases: [] });
    const replayed = await replayDecisionLog(
      nc,
      env,
      { tools: toolStore, policies: policyStore, releases },
      {
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
        debug: () => undefined,
      },
    );
    expect(replayed.canaries).toBe(7);
    expect(await releases.list()).toEqual(before);
    expect(before.canaries.map((canary) => canary.workflow)).toEqual(['other']);
    expect(before.releases.map((release) => [release.workflow, release.version])).toEqual([
      ['probe', 'p2'],
      [WORKFLOW, 'v2'],
    ]);
  });
});
