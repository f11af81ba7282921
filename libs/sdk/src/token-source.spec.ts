import type { NatsConnection } from '@nats-io/transport-node';
import { formatMicros } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { WardenConnectionError } from './errors.js';
import { parseTimestampMs, TokenSource, tokenState } from './token-source.js';

describe('tokenState', () => {
  // Issued at 0, expires at 1000: refresh below 200 left, unusable below 50 left.
  it('keeps a token while more than a fifth of its lifetime is left', () => {
    expect(tokenState(0, 1000, 0)).toBe('fresh');
    expect(tokenState(0, 1000, 800)).toBe('fresh');
  });

  it('asks for a successor once less than a fifth is left, still using the token', () => {
    expect(tokenState(0, 1000, 801)).toBe('refresh');
    expect(tokenState(0, 1000, 950)).toBe('refresh');
  });

  it('stops using a token about to expire, or expired', () => {
    expect(tokenState(0, 1000, 951)).toBe('expired');
    expect(tokenState(0, 1000, 2000)).toBe('expired');
  });

  it('treats a token that expired before it was received as expired', () => {
    expect(tokenState(1000, 1000, 1000)).toBe('expired');
    expect(tokenState(1000, 500, 1000)).toBe('expired');
    expect(tokenState(0, Number.NaN, 0)).toBe('expired');
  });
});

describe('parseTimestampMs', () => {
  it('reads Warden’s microsecond timestamps', () => {
    expect(parseTimestampMs('2026-01-02T03:04:05.123456Z')).toBe(
      Date.UTC(2026, 0, 2, 3, 4, 5, 123),
    );
  });
});

/** A NATS connection whose `request` plays the identity broker, and a clock the test moves. */
function fakeBroker(ttlMs: number, answer?: (n: number) => unknown) {
  let now = 1_000_000;
  let requests = 0;
  const nc = {
    request: (subject: string, body: string) => {
      requests++;
      expect(subject).toBe('warden.dev.api.identity.token');
      expect(JSON.parse(body)).toEqual({ agent_id: 'bot' });
      const reply = answer?.(requests) ?? {
        ok: true,
        result: {
          token: `t-${requests}`,
          jti: `j-${requests}`,
          expires_at: formatMicros((now + ttlMs) * 1000),
        },
      };
      if (reply instanceof Error) return Promise.reject(reply);
      return Promise.resolve({ json: () => reply });
    },
  } as unknown as NatsConnection;
  const tokens = new TokenSource(nc, 'dev', 'bot', () => now);
  return {
    tokens,
    requests: () => requests,
    advance: (ms: number) => (now += ms),
  };
}

describe('TokenSource', () => {
  it('fetches a token once and reuses it while it is fresh', async () => {
    const broker = fakeBroker(100_000);
    expect(await broker.tokens.token()).toBe('t-1');
    broker.advance(79_000);
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.requests()).toBe(1);
  });

  it('refreshes in the background once less than a fifth of the lifetime is left', async () => {
    const broker = fakeBroker(100_000);
    await broker.tokens.token();
    broker.advance(81_000);
    // This call still gets the current token: the new one is on its way.
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.requests()).toBe(2);
    expect(await broker.tokens.token()).toBe('t-2');
  });

  it('waits for a new token when the current one is about to expire', async () => {
    const broker = fakeBroker(100_000);
    await broker.tokens.token();
    broker.advance(96_000);
    expect(await broker.tokens.token()).toBe('t-2');
  });

  it('asks the broker once however many calls need a token at the same time', async () => {
    const broker = fakeBroker(100_000);
    const tokens = await Promise.all([1, 2, 3].map(() => broker.tokens.token()));
    expect(tokens).toEqual(['t-1', 't-1', 't-1']);
    expect(broker.requests()).toBe(1);
  });

  it('keeps the current token when a background refresh fails', async () => {
    const broker = fakeBroker(100_000, (n) => (n === 2 ? new Error('timeout') : undefined));
    await broker.tokens.token();
    broker.advance(81_000);
    expect(await broker.tokens.token()).toBe('t-1');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.requests()).toBe(3);
  });

  it('says to start Warden when no identity broker answers', async () => {
    const broker = fakeBroker(100_000, () => new Error('503 no responders'));
    const error = await broker.tokens.token().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenConnectionError);
    expect(error).toMatchObject({ code: 'no_identity_broker' });
    expect((error as Error).message).toMatch(/env "dev".*npm start.*warden up --env dev/);
  });

  it('reports a refusal with the broker’s reason, never the request', async () => {
    const broker = fakeBroker(100_000, () => ({
      ok: false,
      error: { code: 'agent_suspended', message: 'agent bot is suspended' },
    }));
    await expect(broker.tokens.token()).rejects.toMatchObject({
      code: 'credential_refused',
      message: expect.stringContaining('agent bot is suspended (agent_suspended)') as unknown,
    });
  });
});
