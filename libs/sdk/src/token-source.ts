import type { KeyObject } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, TokenReply, type TokenRequest } from '@warden/contracts';
import { importJWK, SignJWT, type CryptoKey as JoseCryptoKey, type JWK } from 'jose';
import { ulid } from 'ulid';
import { WardenConnectionError, type WardenConnectionErrorCode } from './errors.js';

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

/** Broker refusals that get their own {@link WardenConnectionErrorCode}; others are `credential_refused`. */
const REFUSAL_CODES: Partial<Record<string, WardenConnectionErrorCode>> = {
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_client',
  agent_suspended: 'agent_suspended',
  agent_retired: 'agent_retired',
};

/** Refresh once less than this share of a token's lifetime is left. */
const REFRESH_AT_REMAINING = 0.2;
/** Stop using a token once less than this share of its lifetime is left: wait for a new one. */
const UNUSABLE_AT_REMAINING = 0.05;
/** How long the identity broker gets to answer a token request. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

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

/** Epoch ms of an RFC 3339 timestamp with microseconds (`Date.parse` reads at most milliseconds). */
export function parseTimestampMs(value: string): number {
  return Date.parse(value.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}

interface Held {
  readonly token: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * The agent's short-lived credential: fetched from the identity broker
 * (`warden.<env>.api.identity.token`) with the agent's client secret or a signed assertion, and
 * replaced before it runs out. The token is only ever put in the `Warden-Credential` header of a
 * proposal; neither it nor the secret is ever logged or put in an error.
 */
export class TokenSource {
  private held: Held | undefined;
  private fetching: Promise<string> | undefined;
  private signingKey: Promise<KeyObject | JoseCryptoKey> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
    private readonly credential: AgentCredential,
    private readonly clock: () => number = Date.now,
  ) {}

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

  /** Fetches a new token (one request at a time, however many calls ask). */
  private refresh(): Promise<string> {
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetch(): Promise<string> {
    const subject = subjects.api(this.env, 'identity', 'token');
    // Awaited only for an assertion: a secret's request leaves in the same tick.
    const request =
      'clientSecret' in this.credential
        ? this.secretRequest(this.credential.clientSecret)
        : await this.assertionRequest(this.credential);
    let body: unknown;
    try {
      const reply = await this.nc.request(subject, JSON.stringify(request), {
        timeout: TOKEN_REQUEST_TIMEOUT_MS,
      });
      body = reply.json();
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/no responders|503/i.test(text)) throw WardenConnectionError.noIdentityBroker(this.env);
      throw new WardenConnectionError(
        'no_identity_broker',
        `the identity broker of env "${this.env}" did not give agent ${this.agentId} a token: ${text}`,
        { cause: error },
      );
    }
    const reply = TokenReply.safeParse(body);
    if (!reply.success) {
      throw new WardenConnectionError(
        'credential_refused',
        `the identity broker of env "${this.env}" sent a token reply this SDK does not understand`,
      );
    }
    if (!reply.data.ok) {
      throw new WardenConnectionError(
        REFUSAL_CODES[reply.data.error.code] ?? 'credential_refused',
        `the identity broker of env "${this.env}" refused a token for agent ${this.agentId}: ${reply.data.error.message} (${reply.data.error.code})`,
      );
    }
    const { token, expires_at: expiresAt } = reply.data.result;
    this.held = { token, issuedAt: this.clock(), expiresAt: parseTimestampMs(expiresAt) };
    return token;
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

function isKeyObject(key: KeyObject | JWK): key is KeyObject {
  return typeof (key as Partial<KeyObject>).export === 'function';
}
