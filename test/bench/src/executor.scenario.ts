import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope } from '@warden/contracts';
import { ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import { proposedEvent, putRegisteredTool, TEST_PRODUCER } from '@warden/testing';
import { startApp } from './app-process.js';
import { now, percentiles, type Percentiles } from './stats.js';

/** The executor's cost per call over an upstream that answers at once. */
export interface ExecutorResult {
  calls: number;
  /** `budget.reserved` published → its `intent.resolved` received, ms, one call at a time. */
  executedMs: Percentiles;
  /** The same upstream called directly over HTTP from here (no Warden), ms. */
  upstreamMs: Percentiles;
}

const TOOL = 'bench.noop_http';

/**
 * A tool-executor process running a registered http tool against a no-op HTTP upstream, one call
 * at a time (latency, not throughput): everything the executor adds to a call — the execution
 * record's two compare-and-set writes, `tool.started`, the breaker check, the SSRF guard's DNS
 * lookup, the request, `intent.resolved` — over the upstream's own round trip, measured the same
 * way from this process.
 */
export async function measureExecutor(
  nc: NatsConnection,
  env: string,
  natsUrl: string,
  calls: number,
): Promise<ExecutorResult> {
  const upstream = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-executor-'));
  const upstreams = join(dir, 'upstreams.yaml');
  writeFileSync(
    upstreams,
    `noop:\n  base_url: http://127.0.0.1:${port}\n  tools: ["bench.*"]\n  allow_private: true\n`,
  );
  const { tools } = await ensureKvBuckets(nc, env, ['tools']);
  await register(tools);
  const executor = await startApp('tool-executor', {
    WARDEN_ENV: env,
    NATS_URL: natsUrl,
    EXECUTOR_UPSTREAMS_FILE: upstreams,
  });
  try {
    const upstreamMs: number[] = [];
    for (let i = 0; i < Math.min(calls, 2_000); i++) {
      const started = now();
      await (await fetch(`http://127.0.0.1:${port}/ping`)).text();
      upstreamMs.push(now() - started);
    }
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const executedMs: number[] = [];
    const resolved = nc.subscribe(subjects.eventType(env, 'intent.resolved'));
    const waiting = new Map<string, () => void>();
    void (async () => {
      for await (const message of resolved) {
        const intent = message.json<{ intent_id?: string }>().intent_id ?? '';
        waiting.get(intent)?.();
      }
    })();
    for (let i = 0; i < calls; i++) {
      const event = reserved(env, i);
      const answered = new Promise<void>((resolve) => waiting.set(event.intent_id ?? '', resolve));
      const started = now();
      await publisher.publish(event);
      await answered;
      executedMs.push(now() - started);
      waiting.delete(event.intent_id ?? '');
    }
    resolved.unsubscribe();
    // The first calls warm up connections and caches: they are not the steady state.
    return {
      calls,
      executedMs: percentiles(executedMs.slice(Math.min(50, calls / 10))),
      upstreamMs: percentiles(upstreamMs.slice(Math.min(50, upstreamMs.length / 10))),
    };
  } finally {
    await executor.stop();
    await removeEnv(nc, env);
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function register(tools: Awaited<ReturnType<typeof ensureKvBuckets<'tools'>>>['tools']) {
  const declaration = {
    name: TOOL,
    version: 1,
    kind: 'read',
    domain: 'bench',
    groups: ['bench'],
    description: 'A GET that the upstream answers at once.',
    args: { type: 'object', properties: { i: { type: 'integer' } } },
    cost: { per_call_micro_usd: 0 },
    executor: { adapter: 'http', target: 'noop', method: 'GET', path: '/noop' },
  };
  await putRegisteredTool(tools, declaration);
}

function reserved(env: string, i: number): Envelope<'budget.reserved'> {
  const proposed = proposedEvent(env, { run: 'bench-run', agent: 'bench-agent', tool: TOOL });
  return buildEvent({
    type: 'budget.reserved',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: { tool: TOOL, args: { i }, step: 1, reserved_micro_usd: 0, tool_version: 1 },
  });
}
