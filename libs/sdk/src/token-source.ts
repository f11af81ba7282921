import type { KeyObject } from 'node:crypto';
import { createCurve, type KeyPair } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, type TokenRequest } from '@warden/contracts';
import { decodeJwt, importJWK, SignJWT, type CryptoKey as JoseCryptoKey, type JWK } from 'jose';
import { ulid } from 'ulid';
import { WardenConnectionError } from './errors.js';
import { readTokenReply } from './token-reply.js';

/**
 * How an agent proves who it is to the identity broker: the client secret it was given at
 * registration, or the private key whose public half it registered (the key never leaves the
 * process: each token request carries a fresh assertion signed with it).
 */
export type AgentCredential =
  | { readonly clientSecret: string }
  | {
      /** An Ed25519 private key: a `KeyObject`, or a private JWK (`kty: OKP`, `crv: Ed25519`, `d`, `x`). */
      readonly privateKey: KeyObject | JWK;
      /** The registered key's id, sent in the assertion's header when given. */
      readonly kid?: string;
    };

/** How long an assertion lives: it is used at once, and the broker accepts at most 5 minutes. */
const ASSERTION_TTL_SECONDS = 60;

/** Refresh once less than this share of a token's lifetime is left. */
const REFRESH_AT_REMAINING = 0.2;
/** Stop using a token once less than this share of its lifetime is left: wait for a new one. */
const UNUSABLE_AT_REMAINING = 0.05;
/** How long the identity broker gets to answer a token request. */
/** How long one token request waits for the broker. */
const TOKEN_REQUEST_TIMEOUT_MS = 5_000;
/** How long a token fetch keeps retrying a request lost to a broker restart. */
const TOKEN_FETCH_DEADLINE_MS = 30_000;

/** A token request that got no answer: why, and the error to surface when retrying is over. */
class TokenRequestLost extends Error {
  constructor(
    readonly reason: 'timeout' | 'no_responders',
    readonly surfaced: WardenConnectionError,
  ) {
    super(surfaced.message);
  }
}

function unwrap(error: unknown): unknown {
  return error instanceof TokenRequestLost ? error.surfaced : error;
}
/** Shortest pause before a scheduled refresh: a token that is somehow born expired never loops. */
const MIN_SCHEDULED_REFRESH_MS = 1_000;
/** Longest pause between scheduled refreshes that failed (see {@link TokenSource.keepFresh}). */
const MAX_SCHEDULED_RETRY_MS = 5_000;

/** What to do with a token issued at `issuedAt` and expiring at `expiresAt` (epoch ms). */
export type TokenState =
  /** Use it. */
  | 'fresh'
  /** Use it, and fetch its successor now: less than a fifth of its lifetime is left. */
  | 'refresh'
  /** Do not use it (about to expire, or expired): wait for a new one. */
  | 'expired';

/**
 * The state of a token at `now`. Between "a fifth left" and "a twentieth left" the current token
 * is still sent while its successor is fetched, so a slow or briefly absent identity broker
 * delays no call; only a token that is about to expire makes a call wait.
 */
export function tokenState(issuedAt: number, expiresAt: number, now: number): TokenState {
  const lifetime = expiresAt - issuedAt;
  const left = expiresAt - now;
  if (!(lifetime > 0) || left < lifetime * UNUSABLE_AT_REMAINING) return 'expired';
  return left < lifetime * REFRESH_AT_REMAINING ? 'refresh' : 'fresh';
}

/**
 * The broker-clock epoch ms at which `token` was issued (its `iat`); `fallback` (this host's now)
 * for a token that is not a JWT with an `iat` (the broker always sends one).
 */
function issuedAtMs(token: string, fallback: number): number {
  try {
    const { iat } = decodeJwt(token);
    return typeof iat === 'number' ? iat * 1000 : fallback;
  } catch {
    return fallback;
  }
}

/** Epoch ms of an RFC 3339 timestamp with microseconds (`Date.parse` reads at most milliseconds). */
export function parseTimestampMs(value: string): number {
  return Date.parse(value.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}

interface Held {
  readonly token: string;
  readonly issuedAt: number;
  /** The earlier of the token's expiry and its NATS JWT's (whole seconds, so up to 1 s earlier). */
  readonly expiresAt: number;
  readonly natsJwt: string | undefined;
}

/** Where one token request goes. */
export interface TokenRoute {
  readonly nc: Pick<NatsConnection, 'request'>;
  /**
   * The reply crosses an inbox others can read (the bootstrap user's, shared by every agent
   * host): the request sends a one-time curve key as `reply_xkey`, and the reply must be sealed
   * to it.
   */
  readonly sealed: boolean;
  /** Called once the request is over (closes a connection opened for it). */
  readonly release?: () => Promise<void>;
}

/** Options of a {@link TokenSource}. */
export interface TokenSourceOptions {
  readonly env: string;
  readonly agentId: string;
  readonly credential: AgentCredential;
  /** The route of every request, or a function that picks one per request. */
  readonly route: TokenRoute | (() => Promise<TokenRoute>);
  /**
   * Scoped NATS access: the public half (`U…`) of the user nkey this process made. Every request
   * then sends it as `nats_public_key`, and every token comes with a NATS user JWT bound to it
   * ({@link TokenSource.natsJwt}).
   */
  readonly natsPublicKey?: string;
  /** The clock (epoch ms); tests move it. */
  readonly clock?: () => number;
}

/**
 * The agent's short-lived credential: fetched from the identity broker
 * (`warden.<env>.api.identity.token`) with the agent's client secret or a signed assertion, and
 * replaced before it runs out. The token is only ever put in the `Warden-Credential` header of a
 * proposal; neither it nor the secret (nor the NATS JWT) is ever logged or put in an error.
 *
 * Under scoped NATS access each token also carries the agent's NATS user JWT, which expires with
 * it: {@link keepFresh} then refreshes on a schedule, whether calls ask for tokens or not.
 */
export class TokenSource {
  private held: Held | undefined;
  private fetching: Promise<string> | undefined;
  private signingKey: Promise<KeyObject | JoseCryptoKey> | undefined;
  private keeping = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly env: string;
  private readonly agentId: string;
  private readonly credential: AgentCredential;
  private readonly clock: () => number;

  constructor(private readonly options: TokenSourceOptions) {
    this.env = options.env;
    this.agentId = options.agentId;
    this.credential = options.credential;
    this.clock = options.clock ?? Date.now;
  }

  /** The NATS user JWT of the latest token (scoped access), for the connection's authenticator. */
  get natsJwt(): string | undefined {
    return this.held?.natsJwt;
  }

  /** A usable token: the current one, or a new one when the current one is about to expire. */
  async token(): Promise<string> {
    const held = this.held;
    if (held) {
      const state = tokenState(held.issuedAt, held.expiresAt, this.clock());
      if (state === 'fresh') return held.token;
      if (state === 'refresh') {
        // A failed background refresh is retried by the next call; this token still works.
        this.refresh().catch(() => undefined);
        return held.token;
      }
    }
    return this.refresh();
  }

  /**
   * Refreshes on a schedule from now on (a fifth of each token's lifetime before its end), and
   * retries a failed refresh every few seconds until one succeeds. For scoped NATS access: the
   * connection reconnects with the newest NATS JWT, and when the server ends the connection of
   * an expired one, the reconnect must find a fresh one even if no call asked for a token.
   */
  keepFresh(): void {
    this.keeping = true;
    this.schedule(0);
  }

  /** Stops the schedule of {@link keepFresh}. */
  close(): void {
    this.keeping = false;
    clearTimeout(this.timer);
  }

  /** Fetches a new token (one request at a time, however many calls ask). */
  private refresh(): Promise<string> {
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private schedule(failures: number): void {
    clearTimeout(this.timer);
    const held = this.held;
    if (!this.keeping || held === undefined) return;
    const lifetime = held.expiresAt - held.issuedAt;
    const due = held.expiresAt - lifetime * REFRESH_AT_REMAINING;
    const delay =
      failures > 0
        ? Math.min(MAX_SCHEDULED_RETRY_MS, 250 * 2 ** failures)
        : Math.max(MIN_SCHEDULED_REFRESH_MS, due - this.clock());
    this.timer = setTimeout(() => {
      this.refresh().then(
        () => {
          this.schedule(0);
        },
        () => {
          this.schedule(failures + 1);
        },
      );
    }, delay);
    // The connection keeps the process alive while the client is open; this timer must not.
    this.timer.unref();
  }

  private async fetch(): Promise<string> {
    // Real time, not the injectable clock: this bounds waiting, not a token's life.
    const deadline = Date.now() + TOKEN_FETCH_DEADLINE_MS;
    let brokerWasThere = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchOnce();
      } catch (error) {
        // A request lost with a broker that died (a timeout), or the gap until its replacement
        // answers (no responders after a timeout), is retried until the deadline: a broker
        // restart must not fail an agent's connect or refresh. No broker at all on the first
        // attempt is said at once: Warden is not running for this env.
        if (!(error instanceof TokenRequestLost) || Date.now() >= deadline) throw unwrap(error);
        if (error.reason === 'timeout') brokerWasThere = true;
        else if (!brokerWasThere) throw unwrap(error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** attempt)));
      }
    }
  }

  private async fetchOnce(): Promise<string> {
    const subject = subjects.api(this.env, 'identity', 'token');
    // Built per attempt: an assertion is accepted once, so a retry needs a fresh one.
    const base =
      'clientSecret' in this.credential
        ? this.secretRequest(this.credential.clientSecret)
        : await this.assertionRequest(this.credential);
    const { route, natsPublicKey } = this.options;
    const via = typeof route === 'function' ? await route() : route;
    // A one-time key per request: a reply sniffed on the shared inbox opens with nothing else.
    const replyKey: KeyPair | undefined = via.sealed ? createCurve() : undefined;
    const request: TokenRequest = {
      ...base,
      ...(natsPublicKey === undefined ? {} : { nats_public_key: natsPublicKey }),
      ...(replyKey === undefined ? {} : { reply_xkey: replyKey.getPublicKey() }),
    };
    let body: unknown;
    try {
      const reply = await via.nc.request(subject, JSON.stringify(request), {
        timeout: TOKEN_REQUEST_TIMEOUT_MS,
      });
      body = reply.json();
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/no responders|503/i.test(text)) {
        throw new TokenRequestLost(
          'no_responders',
          WardenConnectionError.noIdentityBroker(this.env),
        );
      }
      throw new TokenRequestLost(
        'timeout',
        new WardenConnectionError(
          'no_identity_broker',
          `the identity broker of env "${this.env}" did not give agent ${this.agentId} a token: ${text}`,
          { cause: error },
        ),
      );
    } finally {
      // Not awaited: closing the bootstrap connection holds nothing up.
      via.release?.().catch(() => undefined);
    }
    const result = readTokenReply(body, {
      env: this.env,
      agentId: this.agentId,
      ...(replyKey === undefined ? {} : { replyKey }),
      wantsNatsJwt: natsPublicKey !== undefined,
    });
    const natsJwt = result.nats_jwt;
    const expiresAt = Math.min(
      parseTimestampMs(result.expires_at),
      natsJwt === undefined ? Number.POSITIVE_INFINITY : natsJwtExpiry(natsJwt),
    );
    // Expiries are on the broker's clock; this host's may disagree by minutes. The lifetime
    // (expiry − the token's own iat, both broker clock) is what holds here, counted from now:
    // a clock ahead by more than a lifetime would otherwise see every new token as expired and
    // ask for the next one at once, again and again.
    const receivedAt = this.clock();
    const lifetime = expiresAt - issuedAtMs(result.token, receivedAt);
    this.held = {
      token: result.token,
      issuedAt: receivedAt,
      expiresAt: receivedAt + lifetime,
      natsJwt,
    };
    // A refresh a call asked for moves the schedule too: no second token for the same turn.
    if (this.keeping) this.schedule(0);
    return result.token;
  }

  private secretRequest(clientSecret: string): TokenRequest {
    return { grant: 'client_secret', agent_id: this.agentId, client_secret: clientSecret };
  }

  /** A token request with a fresh assertion (a new `jti` each time: the broker takes each once). */
  private async assertionRequest(
    credential: Extract<AgentCredential, { privateKey: unknown }>,
  ): Promise<TokenRequest> {
    this.signingKey ??= isKeyObject(credential.privateKey)
      ? Promise.resolve(credential.privateKey)
      : (importJWK(credential.privateKey, 'EdDSA') as Promise<JoseCryptoKey>);
    const key = await this.signingKey.catch((error: unknown) => {
      this.signingKey = undefined;
      throw new WardenConnectionError(
        'invalid_options',
        'credential.privateKey is not an Ed25519 private key (a KeyObject or a private JWK)',
        { cause: error },
      );
    });
    const now = Math.floor(this.clock() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({
        alg: 'EdDSA',
        ...(credential.kid === undefined ? {} : { kid: credential.kid }),
      })
      .setIssuer(this.agentId)
      .setSubject(this.agentId)
      .setAudience(`warden-identity-broker:${this.env}`)
      .setJti(ulid())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_SECONDS)
      .sign(key);
    return { grant: 'private_key_jwt', assertion };
  }
}

/**
 * Epoch ms of a NATS JWT's `exp` (whole seconds). The broker sets it from the token's expiry, but
 * the seconds are truncated: the token must be replaced before the JWT, not after it.
 */
function natsJwtExpiry(jwt: string): number {
  try {
    const { exp } = decodeJwt(jwt);
    return exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000;
  } catch {
    // Not for this SDK to judge: the server does when the connection presents it.
    return Number.POSITIVE_INFINITY;
  }
}

function isKeyObject(key: KeyObject | JWK): key is KeyObject {
  return typeof (key as Partial<KeyObject>).export === 'function';
}
