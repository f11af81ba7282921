import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, type Envelope } from '@warden/contracts';
import { connectNats, ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import { parseToolDeclaration } from '@warden/policy';
import {
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The credential goes straight into the sealed store, as the executor's own integration tests
// do: through `warden secrets set` it would need the identity broker for a human token.
import { parseMasterKey } from '../../apps/tool-executor/src/secrets/secret-seal.js';
import { SecretStore } from '../../apps/tool-executor/src/secrets/secret-store.js';
import { startHelpdeskProcess, type HelpdeskProcess } from './support/helpdesk.js';
import { ROOT, startService, type ServiceProcess } from './support/processes.js';

/**
 * The crash drill of issue 7: the built executor SIGKILLs itself (EXECUTOR_FAILPOINT) before the
 * upstream call, after the helpdesk applied the write but before `done` was recorded, and after
 * `done` before anything was published or acked; a process restarted without the failpoint must
 * then resolve the intent exactly once and never apply a write twice.
 *
 * One env per failpoint, run side by side, each with its own executor process started and killed
 * once per intent; one helpdesk process for all of them (a write is told apart by its
 * idempotency key, the intent id).
 */
const POINTS = ['before_call', 'after_call', 'after_done'] as const;
type Point = (typeof POINTS)[number];
const TOOLS = ['zendesk.update_ticket', 'zendesk.bulk_close'] as const;
type Tool = (typeof TOOLS)[number];

/**
 * Crashes per failpoint and tool. Issue 7 asks 30 per point; each crash costs an executor start
 * (1.5–3 s on the 2-core box, more beside other tests), so 30 of both tools at every point would
 * take twice as long.
 * 30 go to the write the issue names at each point: the non-idempotent bulk close after the call
 * (the in-doubt case), the idempotent update before the call and after `done`; the other tool
 * gets a few per point so that every cell of the table below runs. `WARDEN_DRILL_SCALE` (e.g.
 * 0.1) shrinks every count, at least one each, for a quick local run.
 */
const SCALE = Number(process.env.WARDEN_DRILL_SCALE ?? 1);
const PLAN: Record<Point, Record<Tool, number>> = {
  before_call: { 'zendesk.update_ticket': 30, 'zendesk.bulk_close': 5 },
  after_call: { 'zendesk.update_ticket': 5, 'zendesk.bulk_close': 30 },
  after_done: { 'zendesk.update_ticket': 30, 'zendesk.bulk_close': 5 },
};
const planned = (point: Point, tool: Tool) => Math.max(1, Math.round(PLAN[point][tool] * SCALE));
/** The registered copies' timeout: with the grace below, a lease of 1.2 s to wait out per crash. */
const TOOL_TIMEOUT_MS = 1_000;

const API_TOKEN = `hd-${randomBytes(24).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

/** What was seen of one intent: at the crash (record, helpdesk writes) and after recovery. */
interface Drilled {
  readonly point: Point;
  readonly tool: Tool;
  readonly intentId: string;
  /** How the failpoint process ended (`SIGKILL`). */
  readonly signal: string | null;
  /** `executions/<intent>` right after the crash. */
  readonly recordAtCrash: string | undefined;
  /** Writes the helpdesk had applied under the intent's key right after the crash. */
  readonly writesAtCrash: number;
}

interface HelpdeskWrite {
  readonly seq: number;
  readonly operation: string;
  readonly ticket_ids: number[];
  readonly idempotency_key: string | null;
}

/** One env with its own executor: the intents of one failpoint. */
class Lane {
  readonly env: string;
  readonly drilled: Drilled[] = [];
  private publisher!: EventPublisher;
  private executions!: KV;
  private readonly resolved = new Set<string>();
  /** The lane's executor processes still alive, for a drill that stops half-way. */
  private readonly running = new Set<ServiceProcess>();

  constructor(
    readonly point: Point,
    private readonly nc: NatsConnection,
    private readonly serviceEnv: Record<string, string>,
    private readonly helpdesk: HelpdeskProcess,
  ) {
    this.env = uniqueEnv(`crash-drill-${point.replace('_', '-')}`);
  }

  async setUp(): Promise<void> {
    const { tools, secrets, executions } = await ensureKvBuckets(this.nc, this.env, [
      'tools',
      'secrets',
      'executions',
    ]);
    this.executions = executions;
    for (const tool of TOOLS) await register(tools, tool);
    const store = new SecretStore(secrets, {
      env: this.env,
      masterKey: parseMasterKey(MASTER_KEY),
      audit: { record: () => Promise.resolve() },
    });
    await store.set('helpdesk/api-token', API_TOKEN, 'human:ops');
    this.publisher = new EventPublisher(this.nc, { env: this.env, producer: TEST_PRODUCER });
    // Resolutions as they are published (the assertions read them back from the stream).
    const subscription = this.nc.subscribe(`warden.${this.env}.evt.intent.resolved.*`);
    void (async () => {
      for await (const message of subscription) {
        const intentId = message.json<Envelope>().intent_id;
        if (intentId !== undefined) this.resolved.add(intentId);
      }
    })();
  }

  /**
   * Every intent of this lane, one crash and one recovery each, the two tools interleaved. Each
   * executor process dies on its own intent (EXECUTOR_FAILPOINT_INTENT) after recovering the one
   * the process before it died on: one restart per crash. A last process, without a failpoint,
   * recovers the last one.
   */
  async drill(): Promise<void> {
    const queue = TOOLS.flatMap((tool) =>
      Array.from({ length: planned(this.point, tool) }, (_, i) => ({ tool, i })),
    ).sort((a, b) => a.i - b.i);
    let crashed: Drilled | undefined;
    for (const { tool, i } of queue) {
      const event = reserved(this.env, tool, i);
      const intentId = event.intent_id!;
      const next = await this.executor({
        EXECUTOR_FAILPOINT: this.point,
        EXECUTOR_FAILPOINT_INTENT: intentId,
      });
      if (crashed !== undefined) await this.recovered(crashed);
      crashed = await this.crash(next, event, tool);
      this.drilled.push(crashed);
    }
    if (crashed === undefined) return;
    const last = await this.executor({});
    await this.recovered(crashed);
    await last.stop();
  }

  /** Publishes the intent `crashing` is set to die on, and records what the crash left. */
  private async crash(
    crashing: ServiceProcess,
    event: Envelope<'budget.reserved'>,
    tool: Tool,
  ): Promise<Drilled> {
    const intentId = event.intent_id!;
    await this.publisher.publish(event);
    await waitFor(() => crashing.child.exitCode !== null || crashing.child.signalCode !== null, {
      timeoutMs: 20_000,
      message: `the ${this.point} executor to die on ${tool}`,
    });
    const entry = await this.executions.get(intentId);
    return {
      point: this.point,
      tool,
      intentId,
      signal: crashing.child.signalCode,
      recordAtCrash: entry === null ? undefined : entry.json<{ state: string }>().state,
      writesAtCrash: (await helpdeskWrites(this.helpdesk)).filter(
        (write) => write.idempotency_key === intentId,
      ).length,
    };
  }

  private async recovered(crashed: Drilled): Promise<void> {
    await waitFor(() => this.resolved.has(crashed.intentId), {
      timeoutMs: 20_000,
      message: `intent.resolved of ${crashed.tool} after a crash ${this.point}`,
    });
  }

  private async executor(extra: Record<string, string>): Promise<ServiceProcess> {
    const started = await startService('tool-executor', {
      ...this.serviceEnv,
      WARDEN_ENV: this.env,
      ...extra,
    });
    this.running.add(started);
    started.child.once('exit', () => this.running.delete(started));
    return started;
  }

  /** Kills whatever executor of this lane is still running. */
  async killAll(): Promise<void> {
    await Promise.all([...this.running].map((running) => running.kill()));
  }

  /** Every event of the lane's env, by intent. */
  async eventsByIntent(): Promise<Map<string, Envelope[]>> {
    const byIntent = new Map<string, Envelope[]>();
    for (const { event } of await readStream(this.nc, this.env)) {
      if (event.intent_id === undefined) continue;
      byIntent.set(event.intent_id, [...(byIntent.get(event.intent_id) ?? []), event]);
    }
    return byIntent;
  }
}

/** A copy of the support-triage declaration, with a short timeout so a crash's lease is short. */
async function register(tools: KV, name: Tool): Promise<void> {
  const text = readFileSync(join(ROOT, `examples/support-triage/tools/${name}.yaml`), 'utf8');
  const parsed = parseToolDeclaration(text);
  if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.errors)}`);
  const declaration = structuredClone(parsed.tool) as unknown as Record<string, unknown>;
  declaration.executor = {
    ...(declaration.executor as Record<string, unknown>),
    timeout_ms: TOOL_TIMEOUT_MS,
  };
  await putRegisteredTool(tools, declaration);
}

/**
 * A `budget.reserved` as the governor publishes it: an update of tickets 1–8 (a comment, never a
 * close) or a bulk close of tickets 9–12 (closing one again is still a write in the helpdesk log).
 */
function reserved(env: string, tool: Tool, i: number): Envelope<'budget.reserved'> {
  const args =
    tool === 'zendesk.update_ticket'
      ? {
          ticket_id: 1 + (i % 8),
          status: 'pending',
          comment: { body: `crash drill ${env} #${i}` },
        }
      : { ticket_ids: [9 + (i % 4)], reason: 'resolved' };
  const proposed = proposedEvent(env, { run: 'run-drill', agent: 'triage-bot', tool, args });
  return buildEvent({
    type: 'budget.reserved',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: { tool, args, step: 1, reserved_micro_usd: 1_000, tool_version: 1 },
  });
}

async function helpdeskWrites(helpdesk: HelpdeskProcess): Promise<HelpdeskWrite[]> {
  return ((await helpdesk.admin('GET', '/writes')) as { writes: HelpdeskWrite[] }).writes;
}

/** The helpdesk's request log lines per idempotency key (each line is one request it answered). */
function requestsByKey(helpdesk: HelpdeskProcess): Map<string, { replayed?: boolean }[]> {
  const byKey = new Map<string, { replayed?: boolean }[]>();
  for (const line of helpdesk.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as {
      msg?: string;
      idempotency_key?: string;
      replayed?: boolean;
    };
    if (entry.msg !== 'request' || entry.idempotency_key === undefined) continue;
    byKey.set(entry.idempotency_key, [...(byKey.get(entry.idempotency_key) ?? []), entry]);
  }
  return byKey;
}

describe('tool executor crash drill (issue 7)', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let helpdesk: HelpdeskProcess;
  let lanes: Lane[] = [];

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'executor-crash-drill' });
    dir = await makeTempDir('warden-crash-drill-');
    helpdesk = await startHelpdeskProcess({
      apiToken: API_TOKEN,
      adminToken: 'helpdesk-admin-crash-drill',
      dataDir: join(dir, 'helpdesk'),
    });
    const upstreams = join(dir, 'upstreams.yaml');
    writeFileSync(
      upstreams,
      `helpdesk:\n  base_url: ${helpdesk.url}\n  tools: ["zendesk.*"]\n  allow_private: true\n`,
    );
    const serviceEnv = {
      NATS_URL: nats.url,
      LOG_LEVEL: 'warn',
      EVENT_ACK_WAIT_MS: '2000',
      EXECUTOR_UPSTREAMS_FILE: upstreams,
      EXECUTOR_MASTER_KEY: MASTER_KEY,
      EXECUTOR_LEASE_GRACE_MS: '200',
    };
    lanes = POINTS.map((point) => new Lane(point, nc, serviceEnv, helpdesk));
    for (const lane of lanes) await lane.setUp();
  }, 60_000);

  afterAll(async () => {
    for (const lane of lanes) await lane.killAll();
    await helpdesk.stop();
    for (const lane of lanes) await removeEnv(nc, lane.env);
    await nc.close();
    await removeTempDir(dir);
    await nats.stop();
  }, 60_000);

  it('resolves every crashed intent once and applies no write twice', async () => {
    const started = performance.now();
    // Settled, not raced: a failing lane must not leave the others running into the teardown.
    const drills = await Promise.allSettled(lanes.map((lane) => lane.drill()));
    for (const drill of drills) if (drill.status === 'rejected') throw drill.reason;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const total = lanes.reduce((sum, lane) => sum + lane.drilled.length, 0);
    console.info(`crash drill: ${total} crashes and recoveries in ${seconds} s`);

    const writes = await helpdeskWrites(helpdesk);
    const writesOf = (key: string) => writes.filter((write) => write.idempotency_key === key);
    const requests = requestsByKey(helpdesk);
    const summary: Record<string, Record<string, number>> = {};
    const violations: string[] = [];
    for (const lane of lanes) {
      const events = await lane.eventsByIntent();
      for (const drilled of lane.drilled) {
        const { point, tool, intentId } = drilled;
        const own = events.get(intentId) ?? [];
        const resolutions = own.filter((e) => e.type === 'intent.resolved');
        const attempts = own
          .filter((e) => e.type === 'tool.started')
          .map((e) => (e.data as { attempt: number }).attempt);
        const data = resolutions[0]?.data as { status?: string; reason?: string } | undefined;
        const status = data?.status ?? 'unresolved';
        const observed = {
          signal: drilled.signal,
          recordAtCrash: drilled.recordAtCrash,
          writesAtCrash: drilled.writesAtCrash,
          resolutions: resolutions.length,
          outcome: data?.reason === undefined ? status : `${status}/${data.reason}`,
          attempts,
          writes: writesOf(intentId).length,
          requests: requests.get(intentId)?.length ?? 0,
        };
        const expected = expectedOf(point, tool);
        if (JSON.stringify(observed) !== JSON.stringify({ ...observed, ...expected })) {
          violations.push(
            `${point} ${tool} ${intentId}: expected ${JSON.stringify(expected)}, saw ${JSON.stringify(observed)}; events ${JSON.stringify(own.map((e) => [e.type, e.producer.instance, e.data]))}`,
          );
        }
        const key = `${point} ${tool}`;
        summary[key] ??= {};
        summary[key][observed.outcome] = (summary[key][observed.outcome] ?? 0) + 1;
      }
    }
    console.info(`crash drill outcomes: ${JSON.stringify(summary)}`);
    expect(violations).toEqual([]);
    // No write applied twice under any key, and none without one (the executor always sends it).
    const keys = writes.map((write) => write.idempotency_key);
    expect(keys.filter((key, index) => key === null || keys.indexOf(key) !== index)).toEqual([]);
    for (const lane of lanes) {
      for (const tool of TOOLS) {
        expect(lane.drilled.filter((drilled) => drilled.tool === tool)).toHaveLength(
          planned(lane.point, tool),
        );
      }
    }
  }, 900_000);
});

/**
 * What the drill must see of one intent. Every crash is a SIGKILL, every intent has exactly one
 * `intent.resolved`. Then, by failpoint:
 * - `before_call`: nothing was sent. The update (idempotency keys) is run again as attempt 2 and
 *   applied once. The bulk close cannot be told from one that was sent, so it is never re-sent:
 *   `in_doubt/interrupted`, applied zero times (the one in-doubt a human will find untouched).
 * - `after_call`: the helpdesk applied the write. The update is re-sent under the same key: the
 *   helpdesk replays its answer (two requests, one write), `executed`. The bulk close is never
 *   re-sent: `in_doubt/interrupted`, one request, one write.
 * - `after_done`: the recorded `executed` is republished; nothing is re-sent.
 */
function expectedOf(point: Point, tool: Tool): Record<string, unknown> {
  const idempotent = tool === 'zendesk.update_ticket';
  const common = { signal: 'SIGKILL', resolutions: 1 };
  switch (point) {
    case 'before_call':
      return idempotent
        ? {
            ...common,
            recordAtCrash: 'started',
            writesAtCrash: 0,
            outcome: 'executed',
            attempts: [1, 2],
            writes: 1,
            requests: 1,
          }
        : {
            ...common,
            recordAtCrash: 'started',
            writesAtCrash: 0,
            outcome: 'in_doubt/interrupted',
            attempts: [1],
            writes: 0,
            requests: 0,
          };
    case 'after_call':
      return idempotent
        ? {
            ...common,
            recordAtCrash: 'started',
            writesAtCrash: 1,
            outcome: 'executed',
            attempts: [1, 2],
            writes: 1,
            requests: 2,
          }
        : {
            ...common,
            recordAtCrash: 'started',
            writesAtCrash: 1,
            outcome: 'in_doubt/interrupted',
            attempts: [1],
            writes: 1,
            requests: 1,
          };
    case 'after_done':
      return {
        ...common,
        recordAtCrash: 'done',
        writesAtCrash: 1,
        outcome: 'executed',
        attempts: [1],
        writes: 1,
        requests: 1,
      };
  }
}
