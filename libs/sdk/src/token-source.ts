import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, TokenReply } from '@warden/contracts';
import { WardenConnectionError } from './errors.js';

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
 * (`warden.<env>.api.identity.token`) and replaced before it runs out. The token is only ever put
 * in the `Warden-Credential` header of a proposal; it is never logged or put in an error.
 */
export class TokenSource {
  private held: Held | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
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
    let body: unknown;
    try {
      const reply = await this.nc.request(subject, JSON.stringify({ agent_id: this.agentId }), {
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
        'credential_refused',
        `the identity broker of env "${this.env}" refused a token for agent ${this.agentId}: ${reply.data.error.message} (${reply.data.error.code})`,
      );
    }
    const { token, expires_at: expiresAt } = reply.data.result;
    this.held = { token, issuedAt: this.clock(), expiresAt: parseTimestampMs(expiresAt) };
    return token;
  }
}
