import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiFailure, ApiServer, connectNats, headerOf, silentLogger } from '../src/index.js';

describe('ApiServer', () => {
  const env = uniqueEnv('api-server');
  let nats: TestNats;
  let nc: NatsConnection;
  let server: ApiServer;
  /** Finishes the oldest `slow` request still waiting. */
  const waiting: (() => void)[] = [];
  const release = () => waiting.shift()?.();

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'api-server-test', requireJetStream: false });
    server = new ApiServer(nc, { env, service: 'demo', logger: silentLogger, maxInFlight: 2 });
    server.serve('echo', {
      request: z.strictObject({ text: z.string().min(1) }),
      handle: (request, { headers, reply }) =>
        Promise.resolve({
          text: request.text,
          caller: headerOf(headers, 'X-Caller') ?? null,
          inbox: reply.startsWith('_INBOX'),
        }),
    });
    server.serve('refuse', {
      request: z.strictObject({}),
      handle: () => Promise.reject(new ApiFailure('not_allowed', 'you may not')),
    });
    server.serve('crash', {
      request: z.strictObject({}),
      handle: () => Promise.reject(new Error('secret detail: db password hunter2')),
    });
    server.serve('slow', {
      request: z.strictObject({}),
      handle: () =>
        new Promise((resolve) => {
          waiting.push(() => {
            resolve({ done: true });
          });
        }),
    });
    await nc.flush();
  });

  afterAll(async () => {
    while (waiting.length > 0) release();
    await server.stop();
    await nc.close();
    await nats.stop();
  });

  const call = async (op: string, body: unknown, headers?: Record<string, string>) => {
    const h = natsHeaders();
    for (const [name, value] of Object.entries(headers ?? {})) h.set(name, value);
    const reply = await nc.request(subjects.api(env, 'demo', op), JSON.stringify(body), {
      timeout: 2000,
      headers: h,
    });
    return reply.json<{
      ok: boolean;
      result?: unknown;
      error?: { code: string; message: string };
    }>();
  };

  it('answers a valid request, with its headers (any case) and reply subject', async () => {
    expect(await call('echo', { text: 'hi' }, { 'x-caller': 'alice' })).toEqual({
      ok: true,
      result: { text: 'hi', caller: 'alice', inbox: true },
    });
  });

  it('refuses an invalid body, a non-JSON body, and says why', async () => {
    const invalid = await call('echo', { text: '' });
    expect(invalid).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    const reply = await nc.request(subjects.api(env, 'demo', 'echo'), 'not json', {
      timeout: 2000,
    });
    expect(reply.json()).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', message: 'the request body is not JSON' },
    });
  });

  it("passes an ApiFailure's code on, and hides anything else behind `internal`", async () => {
    expect(await call('refuse', {})).toEqual({
      ok: false,
      error: { code: 'not_allowed', message: 'you may not' },
    });
    const crashed = await call('crash', {});
    expect(crashed).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(crashed)).not.toContain('hunter2');
  });

  it('never answers to a reply subject outside an inbox', async () => {
    const target = `warden.${env}.evt.policy.decided.mallory`;
    const seen: string[] = [];
    const spy = nc.subscribe(target, {
      callback: (_, message) => {
        seen.push(message.string());
      },
    });
    nc.publish(subjects.api(env, 'demo', 'echo'), JSON.stringify({ text: 'x' }), { reply: target });
    // The same op still answers a proper request: it was listening.
    expect(await call('echo', { text: 'y' })).toMatchObject({ ok: true });
    await nc.flush();
    expect(seen).toEqual([]);
    spy.unsubscribe();
  });

  it('refuses with `busy` beyond its bound of requests in flight, and recovers', async () => {
    const first = call('slow', {});
    const second = call('slow', {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await call('slow', {})).toMatchObject({ ok: false, error: { code: 'busy' } });
    release();
    release();
    expect(await Promise.all([first, second])).toEqual([
      { ok: true, result: { done: true } },
      { ok: true, result: { done: true } },
    ]);
    const third = call('slow', {});
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await third).toEqual({ ok: true, result: { done: true } });
  });
});
