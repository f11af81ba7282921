import { generateKeyPairSync } from 'node:crypto';
import { createCurve, createUser } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { formatMicros, TokenRequest } from '@warden/contracts';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { WardenConnectionError } from './errors.js';
import { parseTimestampMs, TokenSource, tokenState, type AgentCredential } from './token-source.js';

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
function fakeBroker(
  ttlMs: number,
  answer?: (n: number) => unknown,
  credential: AgentCredential = { clientSecret: 's3cret' },
) {
  let now = 1_000_000;
  let requests = 0;
  const bodies: TokenRequest[] = [];
  const nc = {
    request: (subject: string, body: string) => {
      requests++;
      expect(subject).toBe('warden.dev.api.identity.token');
      bodies.push(TokenRequest.parse(JSON.parse(body)));
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
  const tokens = new TokenSource({
    route: { nc, sealed: false },
    env: 'dev',
    agentId: 'bot',
    credential,
    clock: () => now,
  });
  return {
    tokens,
    bodies,
    requests: () => requests,
    advance: (ms: number) => (now += ms),
  };
}

describe('TokenSource', () => {
  it('fetches a token once and reuses it while it is fresh', async () => {
    const broker = fakeBroker(100_000);
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.bodies).toEqual([
      { grant: 'client_secret', agent_id: 'bot', client_secret: 's3cret' },
    ]);
    broker.advance(79_000);
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.requests()).toBe(1);
  });

  it('counts a token’s lifetime from its iat, so a host clock ahead of the broker’s does not matter', async () => {
    // The broker's clock is 10 minutes behind this host's; its tokens live 5 minutes.
    const brokerNow = 1_000_000 - 600_000;
    const jwt = (n: number) => {
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const iat = Math.floor(brokerNow / 1000);
      return `${part({ alg: 'EdDSA' })}.${part({ iat, exp: iat + 300, n })}.c2ln`;
    };
    const broker = fakeBroker(0, (n) => ({
      ok: true,
      result: {
        token: jwt(n),
        jti: `j-${n}`,
        expires_at: formatMicros((brokerNow + 300_000) * 1000),
      },
    }));
    const first = await broker.tokens.token();
    broker.advance(200_000);
    expect(await broker.tokens.token()).toBe(first);
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
    const broker = fakeBroker(100_000, (n) =>
      n === 2 ? { ok: false, error: { code: 'internal', message: 'boom' } } : undefined,
    );
    await broker.tokens.token();
    broker.advance(81_000);
    expect(await broker.tokens.token()).toBe('t-1');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await broker.tokens.token()).toBe('t-1');
    expect(broker.requests()).toBe(3);
  });

  it('asks again when a request is lost to a broker restart (a timeout, then no responders)', async () => {
    const broker = fakeBroker(100_000, (n) => {
      if (n === 1) return new Error('timeout');
      if (n === 2) return new Error('503 no responders');
      return undefined;
    });
    expect(await broker.tokens.token()).toBe('t-3');
    expect(broker.requests()).toBe(3);
  });

  it('says to start Warden when no identity broker answers', async () => {
    const broker = fakeBroker(100_000, () => new Error('503 no responders'));
    const error = await broker.tokens.token().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenConnectionError);
    expect(error).toMatchObject({ code: 'no_identity_broker' });
    expect((error as Error).message).toMatch(/env "dev".*npm start.*warden up --env dev/);
  });

  it('signs a fresh assertion with the agent’s private key for each request', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    for (const key of [privateKey, privateKey.export({ format: 'jwk' })]) {
      const broker = fakeBroker(100_000, undefined, { privateKey: key, kid: 'k1' });
      await broker.tokens.token();
      broker.advance(96_000);
      await broker.tokens.token();
      const assertions = broker.bodies.map((body) =>
        body.grant === 'private_key_jwt' ? body.assertion : '',
      );
      expect(assertions).toHaveLength(2);
      const jtis = [];
      for (const assertion of assertions) {
        expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'EdDSA', kid: 'k1' });
        const { payload } = await jwtVerify(assertion, publicKey, {
          issuer: 'bot',
          subject: 'bot',
          audience: 'warden-identity-broker:dev',
          // The fake clock is in 1970.
          currentDate: new Date(1_000_000),
        });
        expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
        jtis.push(payload.jti);
      }
      expect(new Set(jtis).size).toBe(2);
    }
  });

  it('says which refusal it was: unknown agent or wrong secret, suspended, retired', async () => {
    for (const code of ['invalid_client', 'agent_suspended', 'agent_retired']) {
      const broker = fakeBroker(100_000, () => ({ ok: false, error: { code, message: 'no' } }));
      await expect(broker.tokens.token()).rejects.toMatchObject({ code });
    }
  });

  it('reports a refusal with the broker’s reason, never the request', async () => {
    const broker = fakeBroker(100_000, () => ({
      ok: false,
      error: { code: 'quota', message: 'too many tokens' },
    }));
    const error = await broker.tokens.token().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'credential_refused',
      message: expect.stringContaining('too many tokens (quota)') as unknown,
    });
    expect((error as Error).message).not.toContain('s3cret');
  });
});

describe('TokenSource under scoped NATS access', () => {
  const userKey = createUser().getPublicKey();
  const natsJwt = (expSeconds: number) =>
    `e30.${Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url')}.sig`;

  it('asks for a NATS JWT with every token, sealed over the bootstrap route only', async () => {
    const bodies: TokenRequest[] = [];
    let sealed = true;
    const broker = createCurve();
    const nc = {
      request: (_subject: string, body: string) => {
        const request = TokenRequest.parse(JSON.parse(body));
        bodies.push(request);
        const result = {
          token: `t-${bodies.length}`,
          jti: 'j',
          expires_at: formatMicros((Date.now() + 100_000) * 1000),
          nats_jwt: natsJwt(Math.floor(Date.now() / 1000) + 100),
        };
        const reply =
          request.reply_xkey === undefined
            ? { ok: true, result }
            : {
                ok: true,
                result: {
                  sealed: Buffer.from(
                    broker.seal(
                      new TextEncoder().encode(JSON.stringify(result)),
                      request.reply_xkey,
                    ),
                  ).toString('base64'),
                  sender_xkey: broker.getPublicKey(),
                },
              };
        return Promise.resolve({ json: () => reply });
      },
    } as unknown as NatsConnection;
    let now = Date.now();
    const tokens = new TokenSource({
      env: 'dev',
      agentId: 'bot',
      credential: { clientSecret: 's3cret' },
      natsPublicKey: userKey,
      route: () => Promise.resolve({ nc, sealed }),
      clock: () => now,
    });
    expect(await tokens.token()).toBe('t-1');
    expect(tokens.natsJwt).toMatch(/^e30\./);
    sealed = false;
    now += 99_000;
    expect(await tokens.token()).toBe('t-2');
    expect(bodies.map((b) => [b.nats_public_key, b.reply_xkey?.slice(0, 1)])).toEqual([
      [userKey, 'X'],
      [userKey, undefined],
    ]);
    // A new one-time key for every sealed request.
    expect(bodies[0]?.reply_xkey).toMatch(/^X[A-Z2-7]{55}$/);
  });

  it('replaces a token before its NATS JWT expires, whichever ends first', async () => {
    let now = 1_000_000_000;
    const nc = {
      request: () =>
        Promise.resolve({
          json: () => ({
            ok: true,
            result: {
              token: 't',
              jti: 'j',
              expires_at: formatMicros((now + 100_000) * 1000),
              // The JWT's whole seconds end 60 s before the token.
              nats_jwt: natsJwt(Math.floor((now + 40_000) / 1000)),
            },
          }),
        }),
    } as unknown as NatsConnection;
    let requests = 0;
    const tokens = new TokenSource({
      env: 'dev',
      agentId: 'bot',
      credential: { clientSecret: 's3cret' },
      natsPublicKey: userKey,
      route: () => {
        requests++;
        return Promise.resolve({ nc, sealed: false });
      },
      clock: () => now,
    });
    await tokens.token();
    now += 39_000;
    await tokens.token();
    expect(requests).toBe(2);
  });
});
