import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutcomeUnknownError } from '../src/adapters/adapter-errors.js';
import { NatsAdapter } from '../src/adapters/nats/nats-adapter.js';
import type { PreparedTool } from '../src/adapters/tool-adapter.js';

const INTENT = '01JABCDEFGHJKMNPQRSTVWXYZ1';
// An env of this file only, so files running in parallel on the shared server keep apart.
const env = uniqueEnv('nats-adapter');
// Where the adapter sends a target: `tools.<env>.<target>`.
const base = `tools.${env}`;

let nats: TestNats;
let nc: NatsConnection;
let adapter: NatsAdapter;
const seen: { subject: string; key: string | undefined; args: unknown }[] = [];

function prepare(target: string, timeoutMs = 2_000): PreparedTool {
  const prepared = adapter.prepare('crm.update', {
    adapter: 'nats',
    target,
    timeout_ms: timeoutMs,
  });
  if (!prepared.ok) throw new Error(prepared.problems.join('; '));
  return prepared;
}

const call = (tool: PreparedTool, args: Record<string, unknown>) =>
  tool.call({ args, intentId: INTENT, signal: new AbortController().signal });

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  adapter = new NatsAdapter(nc, env);
  // What an in-cluster tool service does: answer on `tools.<env>.<target>`.
  nc.subscribe(subjects.toolRequests(env), {
    callback: (error, msg) => {
      if (error !== null) return;
      const args = msg.json<Record<string, unknown>>();
      seen.push({ subject: msg.subject, key: msg.headers?.get('Idempotency-Key'), args });
      const op = msg.subject.slice(base.length + 1);
      if (op === 'ok') msg.respond(JSON.stringify({ ok: true, output: { echoed: args } }));
      if (op === 'fail')
        msg.respond(
          JSON.stringify({ ok: false, reason: 'not_found', message: 'no such customer' }),
        );
      if (op === 'garbage') msg.respond('not json');
      // `silent`: never answers.
    },
  });
  await nc.flush();
});

afterAll(async () => {
  await nc.drain();
  await nats.stop();
});

describe('nats adapter against a real server', () => {
  it('sends the args as JSON with the idempotency key and returns the output', async () => {
    const result = await call(prepare('ok'), { customer: 7 });
    expect(result).toEqual({ ok: true, output: { echoed: { customer: 7 } } });
    expect(seen.at(-1)).toEqual({ subject: `${base}.ok`, key: INTENT, args: { customer: 7 } });
  });

  it("returns the service's reported failure as it was given", async () => {
    expect(await call(prepare('fail'), {})).toEqual({
      ok: false,
      reason: 'not_found',
      message: 'no such customer',
      maybeApplied: false,
    });
  });

  it('reports no responders as upstream_unavailable, not applied', async () => {
    const other = new NatsAdapter(nc, uniqueEnv('nobody'));
    const prepared = other.prepare('crm.update', { adapter: 'nats', target: 'ok' });
    if (!prepared.ok) throw new Error(prepared.problems.join('; '));
    // Same target, another env: this file's responders do not hear it.
    expect(await call(prepared, {})).toMatchObject({
      ok: false,
      reason: 'upstream_unavailable',
      maybeApplied: false,
    });
  });

  it('throws OutcomeUnknownError on a timeout or a reply that is no result', async () => {
    await expect(call(prepare('silent', 200), {})).rejects.toMatchObject({
      name: 'OutcomeUnknownError',
      unknownCause: 'timeout',
    });
    await expect(call(prepare('garbage'), {})).rejects.toBeInstanceOf(OutcomeUnknownError);
  });

  it('stops waiting when the call is aborted', async () => {
    const controller = new AbortController();
    const pending = prepare('silent', 10_000).call({
      args: {},
      intentId: INTENT,
      signal: controller.signal,
    });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ unknownCause: 'timeout' });
  });

  it('keeps a target spelled like a Warden subject under tools.<env>', async () => {
    const target = 'warden.prod.evt.policy.decided._';
    const subject = subjects.toolRequest(env, target);
    expect(subject).toBe(`${base}.${target}`);
    const sub = nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error === null) msg.respond(JSON.stringify({ ok: true }));
      },
    });
    await nc.flush();
    expect(await call(prepare(target), {})).toEqual({ ok: true, output: null });
    expect(seen.at(-1)?.subject).toBe(subject);
    sub.unsubscribe();
  });

  it('refuses wildcards, $ subjects, secrets and unknown fields, listing each', () => {
    for (const target of ['tools.*.x', 'tools.>', '*', '$JS.API.INFO', 'crm lookup']) {
      expect(adapter.prepare('t', { adapter: 'nats', target }), target).toMatchObject({
        ok: false,
      });
    }
    const many = adapter.prepare('t', {
      adapter: 'nats',
      target: 'a..b',
      timeout_ms: 0,
      secret_ref: 'x/y',
    });
    expect(many.ok).toBe(false);
    if (!many.ok) {
      expect(many.problems).toHaveLength(3);
      expect(many.problems.join('\n')).toMatch(
        /target: .*\n.*timeout_ms: .*\n.*secret_ref.*no secret/,
      );
    }
    expect(prepare('ok').timeoutMs).toBe(2_000);
  });
});
