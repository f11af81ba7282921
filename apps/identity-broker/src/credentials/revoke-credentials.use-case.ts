import { formatMicros } from '@warden/contracts';
import { ApiFailure } from '@warden/messaging';
import type { z } from 'zod';
import type { RevokeRequest, RevokeResult } from '@warden/contracts';
import { REVOCABLE_JTI_PATTERN } from '../domain/revocation-list.js';
import type { CredentialEvents } from './credential-events.js';
import type { KvRevocations } from './revocations.kv.js';

/**
 * `revoke`: one token by `jti`, or every token of an agent issued until now. Effective on this
 * replica before it answers, on the others as soon as their KV watch delivers it (see
 * KvRevocations for the bound); logged as `credential.revoked`.
 */
export class RevokeCredentials {
  constructor(
    private readonly revocations: Pick<KvRevocations, 'revoke'>,
    private readonly events: Pick<CredentialEvents, 'revoked'>,
    private readonly clock: () => number = Date.now,
  ) {}

  async revoke(
    request: z.output<typeof RevokeRequest>,
    by: string,
  ): Promise<z.output<typeof RevokeResult>> {
    const reason = request.reason === undefined ? {} : { reason: request.reason };
    if ('jti' in request) {
      if (!REVOCABLE_JTI_PATTERN.test(request.jti)) {
        throw new ApiFailure(
          'invalid_request',
          'jti must be letters, digits, - and _ (the jti of a token this broker issued)',
        );
      }
      await this.revocations.revoke({ kind: 'jti', jti: request.jti, revokedAtMs: this.clock() });
      await this.events.revoked({ jti: request.jti, by, ...reason });
      return { jti: request.jti };
    }
    const nowMs = this.clock();
    const issuedBefore = formatMicros(nowMs * 1000);
    await this.revocations.revoke({
      kind: 'agent',
      agentId: request.agent_id,
      issuedBeforeMs: nowMs,
    });
    await this.events.revoked({ agentId: request.agent_id, issuedBefore, by, ...reason });
    return { agent_id: request.agent_id, issued_before: issuedBefore };
  }
}
