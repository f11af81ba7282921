import { CREDENTIAL_HEADER } from '@warden/contracts';
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
  /** Re-reads the keys (a kid this replica has not seen may come from a fresh rotation). */
  refresh(): Promise<void>;
}

/** What {@link AuthenticateIntent} reads. */
export interface AuthenticateIntentDeps {
  readonly env: string;
  readonly keys: VerificationKeys;
  readonly revocations: RevocationList;
  readonly agents: AgentDirectory;
  readonly cache?: VerifiedTokenCache;
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

  constructor(private readonly deps: AuthenticateIntentDeps) {
    this.cache = deps.cache ?? new VerifiedTokenCache();
  }

  /**
   * Authenticates one intent. Refusals are results, never throws; it throws only when the agent
   * registry cannot be read (NATS away), which the handler turns into a retry.
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
    return checkIntent(claims, origin, agent, this.deps.revocations);
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
    // Unknown kid: perhaps a rotation this replica's watch has not delivered yet. Look once more.
    await keys.refresh();
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
