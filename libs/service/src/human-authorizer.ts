import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  ADMIN_ROLE,
  apiReply,
  CREDENTIAL_HEADER,
  HumanIntrospectResult,
  subjects,
} from '@warden/contracts';
import { ApiFailure, headerOf } from '@warden/messaging';

/** A verified human behind an API request, with the roles the registry holds for them now. */
export interface HumanCaller {
  readonly human_id: string;
  readonly roles: readonly string[];
}

/** Who may call an admin API op (POLICY_API's and GOVERNOR_API's `access`). */
export interface HumanAuthorizer {
  /** Any active human. Throws ApiFailure `unauthenticated` / `forbidden` / `unavailable`. */
  requireHuman(headers: Readonly<Record<string, string>>): Promise<HumanCaller>;
  /** An active human with the `admin` role. */
  requireAdmin(headers: Readonly<Record<string, string>>): Promise<HumanCaller>;
}

const IntrospectReply = apiReply(HumanIntrospectResult);

/**
 * Human tokens are the identity broker's to verify (its keys, revocations and registry): a
 * service's admin API forwards the caller's token to `identity.human-introspect` and trusts the
 * answer, which reflects roles and status now rather than at login. One round trip per admin or
 * approval request, which are rare; no hot path calls it.
 */
export class IntrospectingHumanAuthorizer implements HumanAuthorizer {
  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly timeoutMs = 5_000,
  ) {}

  async requireHuman(headers: Readonly<Record<string, string>>): Promise<HumanCaller> {
    const token = headerOf(headers, CREDENTIAL_HEADER);
    if (token === undefined || token.trim().length === 0) {
      throw new ApiFailure(
        'unauthenticated',
        `this API needs a human token in the ${CREDENTIAL_HEADER} header (warden login)`,
      );
    }
    const request = natsHeaders();
    request.set(CREDENTIAL_HEADER, token);
    let body: unknown;
    try {
      const reply = await this.nc.request(
        subjects.api(this.env, 'identity', 'human-introspect'),
        '{}',
        { timeout: this.timeoutMs, headers: request },
      );
      body = reply.json();
    } catch {
      throw new ApiFailure(
        'unavailable',
        'the identity broker did not answer to verify the human token: retry in a moment',
      );
    }
    const parsed = IntrospectReply.safeParse(body);
    if (!parsed.success) {
      throw new ApiFailure('unavailable', 'the identity broker gave an unreadable answer: retry');
    }
    if (!parsed.data.ok) {
      const { code, message } = parsed.data.error;
      // The broker's refusals (unauthenticated, forbidden) are the caller's to act on.
      if (code === 'unauthenticated' || code === 'forbidden') throw new ApiFailure(code, message);
      throw new ApiFailure('unavailable', `the identity broker refused to verify: ${message}`);
    }
    return parsed.data.result;
  }

  async requireAdmin(headers: Readonly<Record<string, string>>): Promise<HumanCaller> {
    const caller = await this.requireHuman(headers);
    if (!caller.roles.includes(ADMIN_ROLE)) {
      throw new ApiFailure(
        'forbidden',
        `human ${caller.human_id} does not have the ${ADMIN_ROLE} role`,
      );
    }
    return caller;
  }
}
