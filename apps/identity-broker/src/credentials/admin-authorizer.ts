import { ADMIN_ROLE, CREDENTIAL_HEADER } from '@warden/contracts';
import { ApiFailure, headerOf, type MessagingLogger } from '@warden/messaging';
import type { AdminAuthorizer, AdminCaller, HumanDirectory } from '../ports.js';
import { HUMAN_TOKEN_TYPE, verifyToken, type TokenClaims } from '../domain/agent-token.js';
import { CredentialError } from '../domain/credential-rejection.js';
import type { RevocationList } from '../domain/revocation-list.js';
import { VerifiedTokenCache } from '../domain/verified-token-cache.js';
import { KeyRefresher, type VerificationKeys } from './authenticate-intent.use-case.js';

/**
 * ADMIN_AUTHORIZER (ports.ts): an admin API request (and `human-introspect`, minus the role) must carry a human token (typ
 * `warden-human+jwt`, this env, not revoked) of a human who is active and has the `admin` role
 * *now*: roles and status are read from the registry on every request, not trusted from the
 * token, so removing a role or disabling a human takes effect at once.
 */
export class TokenAdminAuthorizer implements AdminAuthorizer {
  private readonly cache = new VerifiedTokenCache(1_000);
  private readonly refresher: KeyRefresher;

  constructor(
    private readonly deps: {
      readonly env: string;
      readonly keys: VerificationKeys;
      readonly humans: HumanDirectory;
      readonly revocations: RevocationList;
      /** Whether {@link revocations} is current; absent: always. */
      readonly revocationsCurrent?: () => boolean;
      readonly logger?: Pick<MessagingLogger, 'warn' | 'info'>;
    },
  ) {
    this.refresher = new KeyRefresher(deps.keys, deps.logger);
  }

  async requireAdmin(headers: Readonly<Record<string, string>>): Promise<AdminCaller> {
    const caller = await this.requireHuman(headers);
    if (!caller.roles.includes(ADMIN_ROLE)) {
      throw new ApiFailure(
        'forbidden',
        `human ${caller.human_id} does not have the ${ADMIN_ROLE} role`,
      );
    }
    return caller;
  }

  async requireHuman(headers: Readonly<Record<string, string>>): Promise<AdminCaller> {
    const token = headerOf(headers, CREDENTIAL_HEADER);
    if (token === undefined || token.trim().length === 0) {
      throw new ApiFailure(
        'unauthenticated',
        `an admin API needs a human token in the ${CREDENTIAL_HEADER} header (warden login)`,
      );
    }
    const claims = await this.verified(token);
    if (this.deps.revocations.isRevoked(claims.jti)) {
      throw new ApiFailure('unauthenticated', 'the token was revoked: log in again');
    }
    // A revocation this replica cannot see yet must not let an admin token through.
    if (this.deps.revocationsCurrent?.() === false) {
      throw new ApiFailure(
        'unavailable',
        'the revocation list is being reloaded on this replica: try again in a moment',
      );
    }
    const human = await this.deps.humans.load(claims.sub);
    if (human === undefined) {
      throw new ApiFailure('unauthenticated', `human ${claims.sub} is not registered`);
    }
    if (human.status !== 'active') {
      throw new ApiFailure('forbidden', `human ${human.human_id} is disabled`);
    }
    return { human_id: human.human_id, roles: [...human.roles] };
  }

  private async verified(token: string): Promise<TokenClaims> {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    const expected = { typ: HUMAN_TOKEN_TYPE, env: this.deps.env } as const;
    let claims: TokenClaims;
    try {
      claims = await verifyToken(token, this.deps.keys.lookup, expected).catch(
        async (error: unknown) => {
          if (!(error instanceof CredentialError) || error.reason !== 'unknown_kid') throw error;
          // Never throws: keys that cannot be re-read leave the kid unknown (a refusal).
          await this.refresher.refresh();
          return verifyToken(token, this.deps.keys.lookup, expected);
        },
      );
    } catch (error) {
      const reason = error instanceof CredentialError ? error.reason : 'malformed_credential';
      throw new ApiFailure(
        'unauthenticated',
        `the human token was refused (${reason}): log in again`,
      );
    }
    this.cache.set(token, claims);
    return claims;
  }
}
