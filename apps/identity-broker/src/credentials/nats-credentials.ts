import { fromPublic } from '@nats-io/nkeys';
import { keyFromSeed, mintAgentUserJwt } from '@warden/nats-auth';

/**
 * Mints agents' NATS user JWTs (scoped transport, deploy/nats) with the account signing key the
 * broker was given: bound to the nkey the agent holds, with the agent's permissions and the
 * expiry of its Warden token, so the NATS credential ends with the token.
 */
export class NatsCredentials {
  private constructor(
    private readonly env: string,
    private readonly accountSigningSeed: string,
    private readonly accountPublicKey: string,
  ) {}

  /**
   * A minter for `env`. The seed is opened here once, so a seed that is not a valid account key
   * stops the broker at start rather than failing every token request.
   */
  static create(options: {
    env: string;
    accountSigningSeed: string;
    accountPublicKey: string;
  }): NatsCredentials {
    keyFromSeed(options.accountSigningSeed, 'account');
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
