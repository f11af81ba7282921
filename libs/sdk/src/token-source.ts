import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, TokenReply, type TokenResult } from '@warden/contracts';
import { WardenConnectionError } from './errors.js';

/** Refresh when less than this share of a token's lifetime is left. */
const REFRESH_AT_REMAINING = 0.2;

/** Whether a token issued at `issuedAt` and expiring at `expiresAt` should be replaced at `now`. */
export function needsRefresh(issuedAt: number, expiresAt: number, now: number): boolean {
  return expiresAt - now < (expiresAt - issuedAt) * REFRESH_AT_REMAINING;
}

/** Epoch ms of an RFC 3339 timestamp with microseconds (Date.parse reads at most milliseconds). */
export function parseTimestampMs(value: string): number {
  return Date.parse(value.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}

/**
 * The agent's short-lived credential, fetched from the identity broker and replaced before it
 * runs out. The token itself is only ever put in the `Warden-Credential` header.
 */
export class TokenSource {
  private current: { token: string; issuedAt: number; expiresAt: number } | undefined;
  private refreshing: Promise<string> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
  ) {}

  /** A valid token, fetching a new one when the current one is near its end. */
  async token(): Promise<string> {
    const current = this.current;
    if (current && !needsRefresh(current.issuedAt, current.expiresAt, Date.now())) {
      return current.token;
    }
    this.refreshing ??= this.fetch().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async fetch(): Promise<string> {
    const subject = subjects.api(this.env, 'identity', 'token');
    let body: unknown;
    try {
      const message = await this.nc.request(subject, JSON.stringify({ agent_id: this.agentId }), {
        timeout: 10_000,
      });
      body = message.json();
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      throw new WardenConnectionError(
        /no responders|503/i.test(text)
          ? `no identity broker answers for env "${this.env}": start Warden (\`npm start\`, or \`warden up --env ${this.env}\`)`
          : `could not get a token for agent ${this.agentId}: ${text}`,
        { cause: error },
      );
    }
    const reply = TokenReply.safeParse(body);
    if (!reply.success) {
      throw new WardenConnectionError(
        'the identity broker sent an answer this SDK does not understand',
      );
    }
    if (!reply.data.ok) {
      throw new WardenConnectionError(
        `the identity broker refused a token for agent ${this.agentId}: ${reply.data.error.message}`,
      );
    }
    const result: TokenResult = reply.data.result;
    this.current = {
      token: result.token,
      issuedAt: Date.now(),
      expiresAt: parseTimestampMs(result.expires_at),
    };
    return result.token;
  }
}
