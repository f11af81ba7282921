import { fromPublic } from '@nats-io/nkeys';
import { keyFromSeed, mintAgentUserJwt, NatsAuthError } from '@warden/nats-auth';

/**
 * Mints agents' NATS user JWTs (scoped transport, deploy/nats) with the scoped signing key the
 * broker was given: bound to the nkey the agent holds and tagged with its id; the server applies
 * the key's agent template, so this key cannot mint more than an agent. The caller picks the
 * expiry (IssueToken: the token's, at most 5 minutes away).
 */
export class NatsCredentials {
  private constructor(
    private readonly env: string,
    private readonly accountSigningSeed: string,
    private readonly accountPublicKey: string,
  ) {}

  /**
   * A minter for `env`. The seed is opened here once, so a seed that is not a valid account key,
   * or is the account's own key (which no template limits), stops the broker at start rather than
   * failing every token request.
   */
  static create(options: {
    env: string;
    accountSigningSeed: string;
    accountPublicKey: string;
  }): NatsCredentials {
    const signer = keyFromSeed(options.accountSigningSeed, 'account');
    if (signer.getPublicKey() === options.accountPublicKey) {
      throw new NatsAuthError(
        'invalid_key',
        "IDENTITY_NATS_ACCOUNT_SIGNING_SEED is the account's own seed: give the broker the scoped signing seed `warden nats setup` wrote (identity-broker.account-signing.seed)",
      );
    }
    return new NatsCredentials(options.env, options.accountSigningSeed, options.accountPublicKey);
  }

  /** The user JWT agent `agentId` connects with, for the nkey `userPublicKey` it holds. */
  mint(agentId: string, userPublicKey: string, expiresAt: Date): Promise<string> {
    return mintAgentUserJwt({
      accountSigningSeed: this.accountSigningSeed,
      accountPublicKey: this.accountPublicKey,
      env: this.env,
      agentId,
      userPublicKey,
      expiresAt,
    });
  }
}

/**
 * Whether `publicKey` is a well-formed nkey public key: the contract's pattern checks the prefix
 * and length, this the checksum, so a mistyped key is refused as a bad request up front instead of
 * failing after a token was minted and logged.
 */
export function hasValidChecksum(publicKey: string): boolean {
  try {
    fromPublic(publicKey);
    return true;
  } catch {
    return false;
  }
}
