import { buildEvent, formatMicros } from '@warden/contracts';
import type { EventPublisher } from '@warden/messaging';
import { ulid } from 'ulid';
import type { Rotation } from './key-ring.kv.js';

/** A token just signed, as the log records it: never the token. */
export interface IssuedCredential {
  readonly jti: string;
  readonly kid: string;
  readonly principal: { kind: 'agent'; agentId: string } | { kind: 'human'; humanId: string };
  readonly method: 'client_secret' | 'private_key_jwt';
  /** Epoch seconds. */
  readonly iat: number;
  readonly exp: number;
  readonly scope: readonly string[];
  /** The nkey public key of the NATS user JWT issued with the token, when there was one. */
  readonly natsUser?: string;
}

/**
 * The credentials half's events: `credential.issued`, `credential.revoked`,
 * `signing_key.rotated`. Ids are derived where a retry must not log twice: an issued token's
 * event id is its `jti`, a rotation's is the new key's `kid` (both ULIDs).
 */
export class CredentialEvents {
  constructor(private readonly publisher: EventPublisher) {}

  /** Logs an issued token; resolves once JetStream stored it (the token leaves only after). */
  async issued(credential: IssuedCredential): Promise<void> {
    const { principal } = credential;
    await this.publisher.publish(
      buildEvent({
        type: 'credential.issued',
        env: this.publisher.env,
        eventId: credential.jti,
        ...(principal.kind === 'agent' ? { agentId: principal.agentId } : {}),
        producer: this.publisher.producer,
        data: {
          jti: credential.jti,
          principal_kind: principal.kind,
          ...(principal.kind === 'human' ? { human_id: principal.humanId } : {}),
          method: credential.method,
          kid: credential.kid,
          issued_at: formatMicros(credential.iat * 1_000_000),
          expires_at: formatMicros(credential.exp * 1_000_000),
          scope: [...credential.scope],
          ...(credential.natsUser === undefined ? {} : { nats_user: credential.natsUser }),
        },
      }),
    );
  }

  /** Logs a revocation: one token, or every token of `agentId` issued before `issuedBefore`. */
  async revoked(revocation: {
    jti?: string;
    agentId?: string;
    issuedBefore?: string;
    by: string;
    reason?: string;
  }): Promise<void> {
    await this.publisher.publish(
      buildEvent({
        type: 'credential.revoked',
        env: this.publisher.env,
        eventId: ulid(),
        ...(revocation.agentId === undefined ? {} : { agentId: revocation.agentId }),
        producer: this.publisher.producer,
        data: {
          ...(revocation.jti === undefined ? {} : { jti: revocation.jti }),
          ...(revocation.issuedBefore === undefined
            ? {}
            : { issued_before: revocation.issuedBefore }),
          by: revocation.by,
          ...(revocation.reason === undefined ? {} : { reason: revocation.reason }),
        },
      }),
    );
  }

  /** Logs a rotation this replica wrote. */
  async rotated(rotation: Rotation): Promise<void> {
    const { key } = rotation;
    await this.publisher.publish(
      buildEvent({
        type: 'signing_key.rotated',
        env: this.publisher.env,
        eventId: key.kid,
        producer: this.publisher.producer,
        data: {
          kid: key.kid,
          public_jwk: { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: key.kid },
          trigger: rotation.trigger,
          ...(rotation.previousKid === undefined ? {} : { previous_kid: rotation.previousKid }),
          ...(rotation.previousRetiresAt === undefined
            ? {}
            : { previous_retires_at: rotation.previousRetiresAt }),
          ...(rotation.by === undefined ? {} : { by: rotation.by }),
          ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
        },
      }),
    );
  }
}
