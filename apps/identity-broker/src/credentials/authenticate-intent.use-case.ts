import { CREDENTIAL_HEADER } from '@warden/contracts';
import type { MessagingLogger } from '@warden/messaging';
import type { AgentDirectory } from '../ports.js';
import {
  AGENT_TOKEN_TYPE,
  verifyToken,
  type KeyLookup,
  type TokenClaims,
} from '../domain/agent-token.js';
import { checkIntent, type Authentication, type IntentOrigin } from '../domain/authenticate.js';
import { CredentialError } from '../domain/credential-rejection.js';
import type { RevocationList } from '../domain/revocation-list.js';
import { VerifiedTokenCache } from '../domain/verified-token-cache.js';

/** The broker's verification keys, as the stage needs them. */
export interface VerificationKeys {
  readonly lookup: KeyLookup;
  /**
   * Re-reads the keys (a kid this replica has not seen may come from a fresh rotation). May
   * throw (KV unreadable, a stored key that does not open): callers treat that as "still
   * unknown", see {@link KeyRefresher}.
   */
  refresh(): Promise<void>;
}

/**
 * Thrown by {@link AuthenticateIntent.authenticate} when the revocation view is not current (its
 * watch was lost): the token cannot be cleared, so the intent must be tried again later, not
 * accepted.
 */
export class RevocationsUnavailableError extends Error {
  override readonly name = 'RevocationsUnavailableError';
}

/**
 * Re-reads the keys after a token named an unknown kid. A failed refresh must not become an error of the request: the kid is still unknown, and the caller
 * answers `unknown_kid` (a garbage kid must not cost retries). Failures are logged once per
 * streak: random kids arrive at any rate.
 */
export class KeyRefresher {
  private failing = false;

  constructor(
    private readonly keys: VerificationKeys,
    private readonly logger: Pick<MessagingLogger, 'warn' | 'info'> | undefined,
  ) {}

  /** Re-reads the keys; never throws. */
  async refresh(): Promise<void> {
    try {
      await this.keys.refresh();
    } catch (error) {
      if (!this.failing) {
        this.failing = true;
        this.logger?.warn(
          { err: error },
          'signing keys could not be re-read: tokens with a kid this replica has not seen are refused as unknown_kid',
        );
      }
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.logger?.info({}, 'signing keys can be re-read again');
    }
  }
}

/** What {@link AuthenticateIntent} reads. */
export interface AuthenticateIntentDeps {
  readonly env: string;
  readonly keys: VerificationKeys;
  readonly revocations: RevocationList;
  /**
   * Whether {@link revocations} is current (its KV watch live). Absent: always (a fixed list).
   * When not, an intent that would be accepted is retried instead (RevocationsUnavailableError).
   */
  readonly revocationsCurrent?: () => boolean;
  readonly agents: AgentDirectory;
  readonly cache?: VerifiedTokenCache;
  readonly logger?: Pick<MessagingLogger, 'warn' | 'info'>;
}

/**
 * The authentication stage's one use case: is this intent's credential a valid, current token
 * of the agent that sent it? (DESIGN §2 step 2, §6.)
 *
 * A token's signature and claims are verified once and cached until it expires (~0.2 ms of
 * WebCrypto EdDSA, DESIGN §11); the checks that depend on the intent or on state that changes —
 * agent binding, agent status, revocation — run on every intent against in-memory views, so the
 * cached path costs microseconds.
 */
export class AuthenticateIntent {
  readonly cache: VerifiedTokenCache;
  private readonly refresher: KeyRefresher;

  constructor(private readonly deps: AuthenticateIntentDeps) {
    this.cache = deps.cache ?? new VerifiedTokenCache();
    this.refresher = new KeyRefresher(deps.keys, deps.logger);
  }

  /**
   * Authenticates one intent. Refusals are results, never throws; it throws only when what it
   * must read is not available — the agent registry (NATS away), or a current revocation view
   * ({@link RevocationsUnavailableError}) — which the handler turns into a retry.
   */
  async authenticate(token: string | undefined, origin: IntentOrigin): Promise<Authentication> {
    if (token === undefined || token.trim().length === 0) {
      return refuse(
        new CredentialError(
          'missing_credential',
          `no ${CREDENTIAL_HEADER} header on the intent: request a token from the identity broker and send it in that header`,
        ),
      );
    }
    let claims = this.cache.get(token);
    if (claims === undefined) {
      const verified = await this.verify(token);
      if (verified instanceof CredentialError) return refuse(verified);
      claims = verified;
      this.cache.set(token, claims);
    }
    const { agents } = this.deps;
    // Only an intent whose token is its own gets a registry read (a miss of the view costs one).
    const bound = claims.sub === origin.subjectAgent && claims.sub === origin.envelopeAgent;
    const agent = bound ? (agents.get(claims.sub) ?? (await agents.load(claims.sub))) : undefined;
    const result = checkIntent(claims, origin, agent, this.deps.revocations);
    // A refusal stands whatever the view (it only ever tightens); an acceptance needs it current.
    if (result.ok && this.deps.revocationsCurrent?.() === false) {
      throw new RevocationsUnavailableError(
        'the revocation view is not current (its KV watch is being reopened)',
      );
    }
    return result;
  }

  private async verify(token: string): Promise<TokenClaims | CredentialError> {
    const { keys, env } = this.deps;
    const expected = { typ: AGENT_TOKEN_TYPE, env } as const;
    try {
      return await verifyToken(token, keys.lookup, expected);
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      if (error.reason !== 'unknown_kid') return error;
    }
    // Unknown kid: perhaps a rotation this replica's watch has not delivered yet. Look once more;
    // if the keys cannot be re-read, the kid stays unknown (a refusal, not a retry: a garbage
    // kid must not loop until dead-letter).
    await this.refresher.refresh();
    try {
      return await verifyToken(token, keys.lookup, expected);
    } catch (error) {
      if (error instanceof CredentialError) return error;
      throw error;
    }
  }
}

function refuse(error: CredentialError): Authentication {
  return { ok: false, error };
}
