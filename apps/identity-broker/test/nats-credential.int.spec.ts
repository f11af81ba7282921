import { decode, type User } from '@nats-io/jwt';
import { createAccount, createCurve, createUser, type KeyPair } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { SealedTokenResult, TokenResult, type Envelope } from '@warden/contracts';
import { connectNats, removeEnv } from '@warden/messaging';
import { AGENT_NATS_JWT_MAX_TTL_SECONDS, BOOTSTRAP_INBOX_PREFIX, keyText } from '@warden/nats-auth';
import type { RunningService } from '@warden/service';
import { eventsOfType, readStream, startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, startBroker, TestDirectory } from './credentials-harness.js';

/**
 * The agent's NATS credential issued with its token (scoped transport, deploy/nats): the user JWT
 * the broker mints for the nkey the agent sent, and the reply sealed to the agent's curve key
 * (how it asks over the shared bootstrap connection). Real NATS, the shared server.
 */
const env = uniqueEnv('nats-cred');
/** A second env whose broker has no account signing key. */
const bareEnv = uniqueEnv('nats-bare');
const directory = new TestDirectory();
const SECRET = 'wsec_nats-credential-test-secret-0123456789';
/** The Warden account of a `warden nats setup`, and the signing key it gives the broker. */
const account = createAccount();
const brokerSigning = createAccount();

let nats: TestNats;
let nc: NatsConnection;
const brokers: RunningService[] = [];

function tokenRequest(extra: Record<string, unknown>) {
  return { grant: 'client_secret', agent_id: 'bot-nats', client_secret: SECRET, ...extra };
}

/** Asks `ofEnv`'s broker for a token and expects a plain result. */
async function plainToken(extra: Record<string, unknown>, ofEnv = env): Promise<TokenResult> {
  const reply = await callApi(nc, ofEnv, 'token', tokenRequest(extra), TokenResult);
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

/** Opens a sealed token reply with the requester's curve key; `null` when that key cannot. */
function open(sealed: SealedTokenResult, key: KeyPair): TokenResult | null {
  const opened = key.open(Buffer.from(sealed.sealed, 'base64'), sealed.sender_xkey);
  return opened === null ? null : TokenResult.parse(JSON.parse(new TextDecoder().decode(opened)));
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'nats-credential-test' });
  await directory.addAgent('bot-nats', SECRET);
  brokers.push(
    await startBroker(nats.url, env, directory, {
      IDENTITY_NATS_ACCOUNT_SIGNING_SEED: keyText(brokerSigning).seed,
      IDENTITY_NATS_ACCOUNT: account.getPublicKey(),
    }),
    await startBroker(nats.url, bareEnv, directory),
  );
});

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.stop()));
  await removeEnv(nc, env);
  await removeEnv(nc, bareEnv);
  await nc.close();
  await nats.stop();
});

describe('a token asked with nats_public_key', () => {
  it('comes with a NATS user JWT for that key, tagged with the agent, ending with the token', async () => {
    const user = createUser();
    const result = await plainToken({ nats_public_key: user.getPublicKey(), ttl_seconds: 120 });
    expect(result.nats_jwt).toBeDefined();
    const natsJwt = decode<User>(result.nats_jwt ?? '');
    const token = decodeJwt(result.token);

    expect(natsJwt.sub).toBe(user.getPublicKey());
    // Signed by the broker's scoped signing key on behalf of the account: the server trusts it
    // through the account JWT's signing_keys and takes the permissions from that key's template,
    // with the agent id from the tag; the JWT itself carries none.
    expect(natsJwt.iss).toBe(brokerSigning.getPublicKey());
    expect(natsJwt.nats).toEqual({
      type: 'user',
      version: 2,
      issuer_account: account.getPublicKey(),
      tags: ['agent:bot-nats'],
    });
    // A token shorter than the cap: the JWT ends with it.
    expect(natsJwt.exp).toBe(token.exp);
  });

  it('ends at most 5 minutes from now, however long the token lives', async () => {
    const user = createUser();
    const before = Math.floor(Date.now() / 1000);
    const result = await plainToken({ nats_public_key: user.getPublicKey(), ttl_seconds: 3600 });
    const after = Math.floor(Date.now() / 1000);
    const natsExp = decode<User>(result.nats_jwt ?? '').exp ?? Number.POSITIVE_INFINITY;
    // A suspended or revoked agent gets no new JWT: the server cuts it off within the cap.
    expect(AGENT_NATS_JWT_MAX_TTL_SECONDS).toBe(300);
    expect(natsExp).toBeGreaterThanOrEqual(before + AGENT_NATS_JWT_MAX_TTL_SECONDS);
    expect(natsExp).toBeLessThanOrEqual(after + AGENT_NATS_JWT_MAX_TTL_SECONDS);
    expect(decodeJwt(result.token).exp).toBeGreaterThanOrEqual(before + 3600);
  });

  it('is on the record as credential.issued naming the NATS user, and the JWT is nowhere in the log', async () => {
    const user = createUser();
    const result = await plainToken({ nats_public_key: user.getPublicKey() });
    const issued = (await eventsOfType(
      nc,
      env,
      'credential.issued',
    )) as Envelope<'credential.issued'>[];
    expect(issued.find((event) => event.event_id === result.jti)?.data).toMatchObject({
      jti: result.jti,
      nats_user: user.getPublicKey(),
    });
    expect(JSON.stringify(await readStream(nc, env))).not.toContain(result.nats_jwt);
  });

  it('comes without one when not asked, and the event names no NATS user', async () => {
    const result = await plainToken({});
    expect(result.nats_jwt).toBeUndefined();
    const issued = (await eventsOfType(
      nc,
      env,
      'credential.issued',
    )) as Envelope<'credential.issued'>[];
    expect(issued.find((event) => event.event_id === result.jti)?.data.nats_user).toBeUndefined();
  });

  it('is refused with nats_credentials_unavailable by a broker without an account signing key', async () => {
    const reply = await callApi(
      nc,
      bareEnv,
      'token',
      tokenRequest({ nats_public_key: createUser().getPublicKey() }),
      TokenResult,
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'nats_credentials_unavailable' } });
    // The same broker still issues plain tokens.
    expect((await plainToken({}, bareEnv)).nats_jwt).toBeUndefined();
  });

  it('is refused as a bad request when the key has a wrong checksum', async () => {
    const key = createUser().getPublicKey();
    const mistyped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    const reply = await callApi(
      nc,
      env,
      'token',
      tokenRequest({ nats_public_key: mistyped }),
      TokenResult,
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
});

describe('a token asked with reply_xkey', () => {
  it('is sealed so that only the requester’s curve key opens it', async () => {
    const mine = createCurve();
    const user = createUser();
    const reply = await callApi(
      nc,
      env,
      'token',
      tokenRequest({ nats_public_key: user.getPublicKey(), reply_xkey: mine.getPublicKey() }),
      SealedTokenResult,
    );
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    const sealed = reply.result;
    expect(sealed.sender_xkey).toMatch(/^X/);

    const opened = open(sealed, mine);
    expect(opened?.nats_jwt).toBeDefined();
    expect(decode<User>(opened?.nats_jwt ?? '').sub).toBe(user.getPublicKey());
    expect(decodeJwt(opened?.token ?? '').sub).toBe('bot-nats');
    // Anyone else on the shared bootstrap inbox sees only ciphertext.
    expect(open(sealed, createCurve())).toBeNull();
    expect(JSON.stringify(sealed)).not.toContain(opened?.token);
  });

  it('is required over the shared bootstrap inbox, before the secret is even checked', async () => {
    // A caller whose replies land under `_INBOX_bootstrap.`, as the bootstrap credential's do.
    const bootstrap = await connectNats({
      servers: nats.url,
      name: 'nats-credential-bootstrap',
      inboxPrefix: BOOTSTRAP_INBOX_PREFIX,
    });
    try {
      for (const body of [
        tokenRequest({ nats_public_key: createUser().getPublicKey() }),
        tokenRequest({}),
        { ...tokenRequest({}), client_secret: 'wrong' },
      ]) {
        const reply = await callApi(bootstrap, env, 'token', body, TokenResult);
        expect(reply).toMatchObject({
          ok: false,
          error: {
            code: 'sealing_required',
            message: expect.stringContaining('reply_xkey') as unknown,
          },
        });
      }
      // With a key to seal to, the same route works.
      const mine = createCurve();
      const sealed = await callApi(
        bootstrap,
        env,
        'token',
        tokenRequest({ reply_xkey: mine.getPublicKey() }),
        SealedTokenResult,
      );
      if (!sealed.ok) throw new Error(`${sealed.error.code}: ${sealed.error.message}`);
      expect(decodeJwt(open(sealed.result, mine)?.token ?? '').sub).toBe('bot-nats');
    } finally {
      await bootstrap.close();
    }
  });

  it('answers a refusal in clear: an error holds no secret', async () => {
    const reply = await callApi(
      nc,
      env,
      'token',
      { ...tokenRequest({ reply_xkey: createCurve().getPublicKey() }), client_secret: 'wrong' },
      TokenResult,
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_client' } });
  });
});
