import { makeTempDir, removeTempDir } from '@warden/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type RunningHelpdesk, startHelpdesk } from '../src/index.js';

export const API_TOKEN = 'helpdesk-test-api-token-3f9c2a7b1d4e';
export const ADMIN_TOKEN = 'helpdesk-test-admin-token-8e1f';

/** An answer, parsed. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

/** A per-call token as the executor mints it; override any claim or the key. */
export async function perCallToken(
  options: { aud?: string; expiresInS?: number; jti?: string | null; key?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(options.jti === null ? {} : { jti: options.jti ?? 'intent-01' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(options.aud ?? 'helpdesk')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInS ?? 60));
  return jwt.sign(new TextEncoder().encode(options.key ?? API_TOKEN));
}

/** A helpdesk on a free port with its own data dir, its log lines collected. */
export class TestHelpdesk {
  readonly logs: string[] = [];
  private running: RunningHelpdesk | undefined;
  private dir: string | undefined;

  /**
   * A helpdesk for one describe block: started before its tests (own data dir), reseeded
   * before each test when `resetEachTest`, stopped and removed after.
   */
  static forSuite(options: { resetEachTest?: boolean } = {}): TestHelpdesk {
    const helpdesk = new TestHelpdesk();
    beforeAll(async () => {
      helpdesk.dir = await makeTempDir('helpdesk');
      await helpdesk.restart();
    });
    if (options.resetEachTest) {
      beforeEach(async () => {
        await helpdesk.admin('POST', '/reset');
      });
    }
    afterAll(async () => {
      await helpdesk.dispose();
    });
    return helpdesk;
  }

  get dataDir(): string {
    if (this.dir === undefined) throw new Error('helpdesk not started');
    return this.dir;
  }

  get url(): string {
    if (!this.running) throw new Error('helpdesk not running');
    return this.running.url;
  }

  /** Stops (if running) and starts again on the same data dir. */
  async restart(): Promise<void> {
    await this.running?.stop();
    this.running = await startHelpdesk({
      dataDir: this.dataDir,
      apiToken: API_TOKEN,
      adminToken: ADMIN_TOKEN,
      log: (line) => this.logs.push(line),
    });
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    await removeTempDir(this.dataDir);
  }

  /** A ticket request with the static token (or `token`; `null` sends no Authorization). */
  async call(
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null; key?: string; rawBody?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = options.token === undefined ? API_TOKEN : options.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    const body =
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      text,
      headers: res.headers,
    };
  }

  /** An admin request. */
  admin(method: string, path: string, body?: unknown): Promise<Answer> {
    return this.call(method, `/_admin${path}`, { body, token: ADMIN_TOKEN });
  }

  /** Writes applied so far, from `/_admin/writes`. */
  async writes(): Promise<{ idempotency_key: string | null; ticket_ids: number[] }[]> {
    const { body } = await this.admin('GET', '/writes');
    return body['writes'] as { idempotency_key: string | null; ticket_ids: number[] }[];
  }
}
