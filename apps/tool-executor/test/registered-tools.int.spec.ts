import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, type Envelope } from '@warden/contracts';
import { connectNats, ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  eventsOfType,
  makeTempDir,
  proposedEvent,
  putRegisteredTool,
  readStream,
  removeTempDir,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMasterKey } from '../src/secrets/secret-seal.js';
import { RunKeys } from '../src/sealing/run-keys.js';
import { RunOutputs } from '../src/sealing/run-outputs.js';
import { SecretStore } from '../src/secrets/secret-store.js';
import { service } from '../src/service.js';

/**
 * Registered tools through the real executor process on real NATS (issue 7): a tool declaration in
 * KV `tools` (as the policy service registers it), the env's upstream table, a credential in the
 * sealed secret store, and a real HTTP upstream recording what it is sent.
 */
const env = uniqueEnv('executor-registered');
const API_TOKEN = `tok-${randomBytes(24).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

let nats: TestNats;
let nc: NatsConnection;
let dir: string;
const executors: RunningService[] = [];
let settings: Record<string, string>;
let publisher: EventPublisher;
let upstream: Server;
const seen: { method: string; url: string; authorization: string; key: string }[] = [];
/** A ticket the upstream answers slower than AckWait. */
const SLOW_PATH = '/tickets/99';
/** The status the upstream answers with next (200 when the queue is empty). */
const statuses: number[] = [];

function declaration(name: string, kind: 'read' | 'write', method: string, timeoutMs = 2_000) {
  return {
    name,
    version: 1,
    kind,
    domain: 'support',
    groups: ['support'],
    description: `${name} on the test upstream`,
    args: {
      type: 'object',
      required: ['ticket_id'],
      properties: { ticket_id: { type: 'integer', minimum: 1 } },
    },
    cost: { per_call_micro_usd: 100 },
    idempotency_keys: true,
    executor: {
      adapter: 'http',
      target: 'desk',
      method,
      path: '/tickets/{ticket_id}',
      secret_ref: 'desk/api-token',
      timeout_ms: timeoutMs,
    },
  };
}

/** A `budget.reserved` for a call of `tool`, as the governor publishes it. */
function reserved(tool: string, ticketId: number, run = 'run-1'): Envelope<'budget.reserved'> {
  const proposed = proposedEvent(env, { run, agent: 'desk-bot', tool, args: {} });
  return buildEvent({
    type: 'budget.reserved',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: {
      tool,
      args: { ticket_id: ticketId },
      step: 1,
      reserved_micro_usd: 100,
      tool_version: 1,
    },
  });
}

async function resolutionOf(event: Envelope): Promise<Envelope<'intent.resolved'>> {
  return waitFor(
    async () =>
      (await eventsOfType(nc, env, 'intent.resolved')).find(
        (resolved) => resolved.intent_id === event.intent_id,
      ) as Envelope<'intent.resolved'> | undefined,
    { timeoutMs: 15_000 },
  );
}

async function call(
  tool: string,
  ticketId: number,
  run?: string,
): Promise<Envelope<'intent.resolved'>> {
  const event = reserved(tool, ticketId, run);
  await publisher.publish(event);
  return resolutionOf(event);
}

beforeAll(async () => {
  upstream = createServer((request: IncomingMessage, response) => {
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: request.headers.authorization ?? '',
      key: String(request.headers['idempotency-key'] ?? ''),
    });
    const status = request.url === SLOW_PATH ? 200 : (statuses.shift() ?? 200);
    const answer = () => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status === 200 ? { ticket: { id: 1 } } : { error: 'boom' }));
    };
    // The slow ticket answers after more than twice the consumers' AckWait.
    if (request.url === SLOW_PATH) setTimeout(answer, 2_500);
    else answer();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;

  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'executor-registered-test' });
  dir = await makeTempDir('warden-executor-');
  const upstreams = join(dir, 'upstreams.yaml');
  writeFileSync(
    upstreams,
    `desk:\n  base_url: http://127.0.0.1:${port}\n  tools: ["desk.*"]\n  allow_private: true\n`,
  );
  const { tools, secrets } = await ensureKvBuckets(nc, env, ['tools', 'secrets']);
  await putRegisteredTool(tools, declaration('desk.get_ticket', 'read', 'GET'));
  await putRegisteredTool(tools, declaration('desk.close_ticket', 'write', 'POST'));
  await putRegisteredTool(tools, declaration('desk.flaky', 'read', 'GET'));
  await putRegisteredTool(tools, declaration('desk.slow_read', 'read', 'GET', 5_000));
  const sealed = declaration('desk.sealed_read', 'read', 'GET');
  await putRegisteredTool(tools, {
    ...sealed,
    executor: { ...sealed.executor, seal_output: true },
  });
  const store = new SecretStore(secrets, {
    env,
    masterKey: parseMasterKey(MASTER_KEY),
    audit: { record: () => Promise.resolve() },
  });
  await store.set('desk/api-token', API_TOKEN, 'human:ops');

  settings = {
    WARDEN_ENV: env,
    NATS_URL: nats.url,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    // Short, so that a tool slower than it shows a copy is not run twice.
    EVENT_ACK_WAIT_MS: '1000',
    EXECUTOR_UPSTREAMS_FILE: upstreams,
    EXECUTOR_MASTER_KEY: MASTER_KEY,
    EXECUTOR_BREAKER_COOLDOWN_MS: '1000',
  };
  executors.push(await service.start(service.config(settings)));
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await Promise.all(executors.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
  await removeTempDir(dir);
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  statuses.length = 0;
});

describe('registered tools', () => {
  it('calls the upstream with the credential and the intent id as idempotency key', async () => {
    const resolved = await call('desk.get_ticket', 7);
    expect(resolved.data).toMatchObject({
      status: 'executed',
      stage: 'executor',
      output: { ticket: { id: 1 } },
      upstream_status: 200,
    });
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/tickets/7',
        authorization: `Bearer ${API_TOKEN}`,
        key: resolved.intent_id,
      },
    ]);
  });

  it('resolves a write the upstream failed with 500 in doubt, and a 4xx failed', async () => {
    statuses.push(500);
    expect((await call('desk.close_ticket', 8)).data).toMatchObject({
      status: 'in_doubt',
      reason: 'upstream_error',
      upstream_status: 500,
    });
    statuses.push(404);
    expect((await call('desk.close_ticket', 9)).data).toMatchObject({
      status: 'failed',
      reason: 'upstream_rejected',
      upstream_status: 404,
    });
  });

  it('opens the breaker after five upstream failures, fails fast without calling, and closes again', async () => {
    statuses.push(500, 500, 500, 500, 500);
    for (let i = 0; i < 5; i++) {
      expect((await call('desk.flaky', 10 + i)).data).toMatchObject({
        status: 'failed',
        reason: 'upstream_error',
      });
    }
    const opened = await waitFor(async () =>
      (await eventsOfType(nc, env, 'breaker.opened')).find(
        (event) => (event.data as { tool: string }).tool === 'desk.flaky',
      ),
    );
    expect(opened.data).toMatchObject({ tool: 'desk.flaky', reason: '5 failures in a row' });
    expect(seen).toHaveLength(5);

    const fast = await call('desk.flaky', 20);
    expect(fast.data).toMatchObject({ status: 'failed', reason: 'breaker_open' });
    expect(fast.data.duration_ms).toBeLessThan(5);
    expect(seen).toHaveLength(5);

    // After the cooldown one probe goes through; its success closes the breaker.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await call('desk.flaky', 21)).data).toMatchObject({ status: 'executed' });
    await waitFor(async () =>
      (await eventsOfType(nc, env, 'breaker.closed')).some(
        (event) => (event.data as { tool: string }).tool === 'desk.flaky',
      ),
    );
    expect((await call('desk.flaky', 22)).data).toMatchObject({ status: 'executed' });
  });

  it('runs a tool slower than AckWait once, with two replicas sharing the work', async () => {
    executors.push(await service.start(service.config(settings)));
    const resolved = await call('desk.slow_read', 99);
    expect(resolved.data).toMatchObject({ status: 'executed', output: { ticket: { id: 1 } } });
    expect(seen.filter((request) => request.url === SLOW_PATH)).toHaveLength(1);
    const started = (await eventsOfType(nc, env, 'tool.started')).filter(
      (event) => event.intent_id === resolved.intent_id,
    );
    expect(started).toHaveLength(1);
    // Nothing else about it arrives later: still one resolution, one request.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const resolutions = (await eventsOfType(nc, env, 'intent.resolved')).filter(
      (event) => event.intent_id === resolved.intent_id,
    );
    expect(resolutions).toHaveLength(1);
    expect(seen.filter((request) => request.url === SLOW_PATH)).toHaveLength(1);
  });

  it('seals the raw output of a seal_output tool with its run’s key, until the key is erased', async () => {
    const resolved = await call('desk.sealed_read', 40, 'run-sealed');
    expect(resolved.data).toMatchObject({ status: 'executed' });
    const sealedOutput = resolved.data.sealed_output;
    expect(sealedOutput).toMatchObject({ alg: 'A256GCM', key_id: 'run-sealed' });
    expect(JSON.stringify(sealedOutput)).not.toContain('ticket');
    const { run_keys: runKeys } = await ensureKvBuckets(nc, env, ['run_keys']);
    const keys = new RunKeys(runKeys, env, parseMasterKey(MASTER_KEY));
    const outputs = new RunOutputs(keys, publisher);
    if (sealedOutput === undefined) throw new Error('no sealed output');
    const intentId = resolved.intent_id ?? '';
    const open = async (intent_id: string) =>
      (await outputs.open('run-sealed', [{ intent_id, sealed: sealedOutput }], 'test', 'human:t'))
        .outputs[0];
    expect(await open(intentId)).toEqual({
      intent_id: intentId,
      status: 'opened',
      output: { ticket: { id: 1 } },
    });
    // Bound to its intent: the same ciphertext under another intent id does not open.
    expect(await open('01JD4K6Z8V3M2T9Q7W5X1Y0B3C')).toMatchObject({ status: 'unreadable' });
    // Nor under another run.
    expect(
      (await outputs.open('run-other', [{ intent_id: intentId, sealed: sealedOutput }], 't', 'h'))
        .outputs[0],
    ).toMatchObject({ status: 'unreadable' });
    expect(await outputs.erase('run-sealed', 'test erasure', 'human:t')).toMatchObject({
      had_key: true,
    });
    expect(await open(intentId)).toMatchObject({ status: 'erased' });
    expect(await outputs.erase('run-sealed', 'again', 'human:t')).toMatchObject({ had_key: false });
    // A tool without seal_output keeps no sealed copy.
    expect((await call('desk.get_ticket', 41)).data.sealed_output).toBeUndefined();
  });

  it('keeps the credential out of every event, and sealed where it is stored', async () => {
    await call('desk.get_ticket', 30);
    const events = await readStream(nc, env);
    expect(events.length).toBeGreaterThan(5);
    for (const { event } of events) expect(JSON.stringify(event)).not.toContain(API_TOKEN);
    const secretsValue = await (
      await ensureKvBuckets(nc, env, ['secrets'])
    ).secrets.get('desk/api-token');
    expect(secretsValue?.value.length).toBeGreaterThan(0);
    expect(Buffer.from(secretsValue?.value ?? []).toString('utf8')).not.toContain(API_TOKEN);
  });
});
