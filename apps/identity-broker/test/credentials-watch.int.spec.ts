import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, ensureKvBuckets, kvBucketName, removeEnv } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import {
  startNats,
  TEST_IDENTITY_MASTER_KEY,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AuthenticateIntent,
  RevocationsUnavailableError,
} from '../src/credentials/authenticate-intent.use-case.js';
import { KvKeyRing } from '../src/credentials/key-ring.kv.js';
import { KvRevocations } from '../src/credentials/revocations.kv.js';
import { AGENT_TOKEN_TYPE, signToken } from '../src/domain/agent-token.js';
import { RING_KEY, type KeyRingDocument } from '../src/domain/key-ring.js';
import { RevocationList } from '../src/domain/revocation-list.js';
import { generateSigningKey, sealSigningKey, type SigningKey } from '../src/domain/signing-key.js';
import { TestDirectory } from './credentials-harness.js';
import { signedBy } from './hostile-tokens.js';

/*
 * The credentials half's KV views when their watch dies, and the key ring against a bucket
 * someone else can write: real NATS, the classes on their own (no Nest), short probe timings.
 */

let nats: TestNats;
let nc: NatsConnection;
const env = uniqueEnv('creds-watch');
const master = Buffer.from(TEST_IDENTITY_MASTER_KEY, 'base64');
/** Probe often, restart slowly: the stale window is long enough to observe. */
const timing = { probeIntervalMs: 100, initialBackoffMs: 800, maxBackoffMs: 800 };
const RETENTION_MS = 3_600_000;

function spyLogger(): Logger & { error: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn> } {
  const logger = {
    debug: vi.fn(),
    info: vi.fn(),
    warn: vi.fn(),
    error: vi.fn(),
  };
  return logger as unknown as Logger & {
    error: ReturnType<typeof vi.fn>;
    warn: ReturnType<typeof vi.fn>;
  };
}

/** Deletes a bucket and makes it again, empty: the watch on it goes silent without ending. */
async function recreateBucket(name: 'revocations' | 'signing_keys'): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(`KV_${kvBucketName(env, name)}`);
  await ensureKvBuckets(nc, env, [name], name === 'revocations' ? { ttlMs: RETENTION_MS } : {});
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'credentials-watch-test' });
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('the revocation view when its watch dies', () => {
  it('skips a value it cannot read, reports itself stale, and loses no revocation', async () => {
    const { revocations: kv } = await ensureKvBuckets(nc, env, ['revocations'], {
      ttlMs: RETENTION_MS,
    });
    const logger = spyLogger();
    const view = new KvRevocations(kv, RETENTION_MS, logger, Date.now, timing);
    await view.start();
    try {
      expect(view.healthy).toBe(true);
      // A value that is not JSON: logged, skipped, the watch goes on.
      await kv.put('jti.garbage', 'not json{');
      await kv.put('jti.after-garbage', JSON.stringify({ revoked_at_ms: Date.now() }));
      await waitFor(() => view.list.isRevoked('after-garbage') || undefined);
      expect(logger.warn).toHaveBeenCalledWith(
        { key: 'jti.garbage' },
        expect.stringContaining('does not understand'),
      );
      expect(view.healthy).toBe(true);

      // The bucket goes and comes back: the watch neither ends nor delivers any more.
      await recreateBucket('revocations');
      await kv.put('jti.during-outage', JSON.stringify({ revoked_at_ms: Date.now() }));
      await waitFor(() => !view.healthy || undefined, { timeoutMs: 3_000 });
      expect(view.status.ok).toBe(false);
      // Reopened: the entry written while it was dead is there (the reopen reads every key).
      await waitFor(() => view.healthy || undefined, { timeoutMs: 5_000 });
      expect(view.list.isRevoked('during-outage')).toBe(true);
      await kv.put('jti.after-reopen', JSON.stringify({ revoked_at_ms: Date.now() }));
      await waitFor(() => view.list.isRevoked('after-reopen') || undefined);
    } finally {
      view.stop();
    }
  }, 20_000);

  it('makes the stage retry an intent it would accept, and refuse a revoked one', async () => {
    const { revocations: kv } = await ensureKvBuckets(nc, env, ['revocations'], {
      ttlMs: RETENTION_MS,
    });
    const view = new KvRevocations(kv, RETENTION_MS, spyLogger(), Date.now, timing);
    await view.start();
    const key = generateSigningKey();
    const directory = new TestDirectory();
    directory.putAgent('bot-1', { method: 'client_secret', verifier: '$scrypt$x' });
    const stage = new AuthenticateIntent({
      env,
      keys: {
        lookup: (kid) => (kid === key.kid ? key.publicKey : undefined),
        refresh: () => Promise.resolve(),
      },
      revocations: view.list,
      revocationsCurrent: () => view.healthy,
      agents: directory,
    });
    const origin = { subjectAgent: 'bot-1', envelopeAgent: 'bot-1' };
    const mint = async (jti: string) =>
      (
        await signToken(key, {
          typ: AGENT_TOKEN_TYPE,
          subject: 'bot-1',
          env,
          jti,
          scope: ['intents:propose'],
          iat: Math.floor(Date.now() / 1000),
          ttlSeconds: 300,
        })
      ).token;
    try {
      const good = await mint(ulid());
      const revokedJti = ulid();
      const revoked = await mint(revokedJti);
      await view.revoke({ kind: 'jti', jti: revokedJti, revokedAtMs: Date.now() });
      expect((await stage.authenticate(good, origin)).ok).toBe(true);

      view.failWatch('test: watch lost');
      await expect(stage.authenticate(good, origin)).rejects.toBeInstanceOf(
        RevocationsUnavailableError,
      );
      // What the view already holds still refuses: a refusal never waits.
      expect(await stage.authenticate(revoked, origin)).toMatchObject({
        ok: false,
        error: { reason: 'token_revoked' },
      });
      await waitFor(() => view.healthy || undefined, { timeoutMs: 5_000 });
      expect((await stage.authenticate(good, origin)).ok).toBe(true);
    } finally {
      view.stop();
    }
  }, 20_000);
});

describe('the authentication stage', () => {
  const directory = new TestDirectory();
  directory.putAgent('bot-1', { method: 'client_secret', verifier: '$scrypt$x' });
  const origin = { subjectAgent: 'bot-1', envelopeAgent: 'bot-1' };

  it('answers unknown_kid when the keys cannot be re-read, and logs it once', async () => {
    const key = generateSigningKey();
    const logger = spyLogger();
    const refresh = vi.fn(() => Promise.reject(new Error('NATS away')));
    const stage = new AuthenticateIntent({
      env,
      keys: { lookup: () => undefined, refresh },
      revocations: new RevocationList(),
      agents: directory,
      logger,
    });
    for (let i = 0; i < 3; i++) {
      const { token } = await signToken(key, {
        typ: AGENT_TOKEN_TYPE,
        subject: 'bot-1',
        env,
        jti: ulid(),
        scope: ['intents:propose'],
        iat: Math.floor(Date.now() / 1000),
        ttlSeconds: 300,
      });
      expect(await stage.authenticate(token, origin)).toMatchObject({
        ok: false,
        error: { reason: 'unknown_kid' },
      });
    }
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('refuses a hand-made token without intents:propose: insufficient_scope', async () => {
    const key = generateSigningKey();
    const stage = new AuthenticateIntent({
      env,
      keys: {
        lookup: (kid) => (kid === key.kid ? key.publicKey : undefined),
        refresh: () => Promise.resolve(),
      },
      revocations: new RevocationList(),
      agents: directory,
    });
    const now = Math.floor(Date.now() / 1000);
    const token = signedBy(
      key.privateKey,
      { alg: 'EdDSA', typ: AGENT_TOKEN_TYPE, kid: key.kid },
      {
        iss: 'warden-identity-broker',
        sub: 'bot-1',
        aud: env,
        jti: ulid(),
        scope: ['intents:read'],
        iat: now,
        exp: now + 300,
      },
    );
    expect(await stage.authenticate(token, origin)).toMatchObject({
      ok: false,
      error: { reason: 'insufficient_scope' },
    });
  });
});

describe('the key ring', () => {
  const ringOptions = (logger: Logger) => ({
    masterKey: master,
    rotationPeriodMs: 0,
    retireAfterMs: 3_600_000,
    onRotated: () => Promise.resolve(),
    logger,
    watchTiming: timing,
  });
  const readRing = async (): Promise<KeyRingDocument> => {
    const { signing_keys: kv } = await ensureKvBuckets(nc, env, ['signing_keys']);
    const entry = await kv.get(RING_KEY);
    if (entry === null) throw new Error('no ring');
    return entry.json<KeyRingDocument>();
  };
  const writeRing = async (ring: KeyRingDocument): Promise<void> => {
    const { signing_keys: kv } = await ensureKvBuckets(nc, env, ['signing_keys']);
    await kv.put(RING_KEY, JSON.stringify(ring));
  };
  const future = () => new Date(Date.now() + 600_000).toISOString().replace('Z', '000Z');

  it('refuses previous keys that do not open with the master key: they never verify', async () => {
    const { signing_keys: kv } = await ensureKvBuckets(nc, env, ['signing_keys']);
    const logger = spyLogger();
    const ring = new KvKeyRing(kv, ringOptions(logger));
    await ring.start();
    try {
      const genuine = ring.activeKey().kid;
      await ring.rotate('command', 'human:test');
      expect(ring.lookup(genuine)).toBeDefined();

      // Someone who can write the bucket, without the master key, adds keys of their own.
      const forged: SigningKey = generateSigningKey();
      const underOtherMaster = generateSigningKey();
      const swapped = generateSigningKey();
      const stored = await readRing();
      const genuineSealed = stored.previous[0]!;
      await writeRing({
        active: stored.active,
        previous: [
          ...stored.previous,
          // Unsealed: a "sealed" field that is not a seal, the attacker's public key beside it.
          {
            kid: forged.kid,
            created_at: stored.active.created_at,
            x: forged.publicJwk.x,
            sealed: 'AAAA.BBBB.CCCC',
            retires_at: future(),
          },
          // Sealed under another master key.
          {
            ...sealSigningKey(underOtherMaster, Buffer.alloc(32, 9), stored.active.created_at),
            retires_at: future(),
          },
          // A genuine seal with the attacker's public key swapped in, under a fresh kid.
          { ...genuineSealed, kid: swapped.kid, x: swapped.publicJwk.x, retires_at: future() },
        ],
      });
      await waitFor(() => (logger.error.mock.calls.length >= 3 ? true : undefined));
      for (const key of [forged, underOtherMaster, swapped]) {
        expect(ring.lookup(key.kid)).toBeUndefined();
        expect(ring.jwks().keys.map((k) => k.kid)).not.toContain(key.kid);
        expect(ring.list().map((k) => k.kid)).not.toContain(key.kid);
      }
      // The genuine previous key still verifies.
      expect(ring.lookup(genuine)).toBeDefined();

      // A token the forger signs is refused as a kid the broker does not have.
      const directory = new TestDirectory();
      directory.putAgent('bot-1', { method: 'client_secret', verifier: '$scrypt$x' });
      const stage = new AuthenticateIntent({
        env,
        keys: ring,
        revocations: new RevocationList(),
        agents: directory,
      });
      const { token } = await signToken(forged, {
        typ: AGENT_TOKEN_TYPE,
        subject: 'bot-1',
        env,
        jti: ulid(),
        scope: ['intents:propose'],
        iat: Math.floor(Date.now() / 1000),
        ttlSeconds: 300,
      });
      expect(
        await stage.authenticate(token, { subjectAgent: 'bot-1', envelopeAgent: 'bot-1' }),
      ).toMatchObject({ ok: false, error: { reason: 'unknown_kid' } });

      // The next rotation drops them from the stored document too.
      await ring.rotate('command', 'human:test', 'clean up');
      const kids = (await readRing()).previous.map((k) => k.kid);
      expect(kids).toContain(genuine);
      for (const key of [forged, underOtherMaster, swapped]) expect(kids).not.toContain(key.kid);
    } finally {
      ring.stop();
    }
  }, 20_000);

  it('reopens its watch after the bucket was recreated, and takes the new ring', async () => {
    const { signing_keys: kv } = await ensureKvBuckets(nc, env, ['signing_keys']);
    const ring = new KvKeyRing(kv, ringOptions(spyLogger()));
    await ring.start();
    try {
      const before = ring.activeKey().kid;
      await recreateBucket('signing_keys');
      await waitFor(() => !ring.status.ok || undefined, { timeoutMs: 3_000 });
      await waitFor(() => ring.status.ok || undefined, { timeoutMs: 5_000 });
      // Another replica starting on the empty bucket makes a new ring (revision 1 again).
      const other = new KvKeyRing(kv, ringOptions(spyLogger()));
      await other.start();
      other.stop();
      const after = other.activeKey().kid;
      expect(after).not.toBe(before);
      await waitFor(() => (ring.activeKey().kid === after ? true : undefined));
      expect(ring.lookup(after)).toBeDefined();
    } finally {
      ring.stop();
    }
  }, 20_000);
});
