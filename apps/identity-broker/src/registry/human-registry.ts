import {
  ADMIN_ROLE,
  deriveEventId,
  type HumanRegisterRequest,
  type HumanView,
} from '@warden/contracts';
import type { z } from 'zod';
import { hashSecret, newClientSecret } from '../domain/secret-verifier.js';
import { toHumanView } from './domain/views.js';
import type { RegistryLog } from './infra/registry-log.js';
import type { RegistryStore } from './infra/registry-store.js';
import { RegistryFailure } from './registry.errors.js';

/** A validated `human-register` request. */
export type HumanRegistration = z.output<typeof HumanRegisterRequest>;

/** How a registration attempt ended. */
export type HumanRegistrationOutcome =
  | { readonly created: true; readonly human: HumanView }
  | { readonly created: false; readonly reason: 'exists' };

/**
 * The human use cases: register (with a secret shown once), list, and the bootstrap admin. The
 * order of a change is that of AgentRegistry: check KV → publish → CAS-apply → answer.
 *
 * A human's `human.registered` has an event id derived from the human id, so JetStream drops a
 * second registration of the same id published within its duplicate window (2 minutes) and
 * tells the publisher so: two replicas creating the bootstrap admin at the same moment make one.
 * Outside the window the KV check refuses it. (Agents get a stronger guard, an expected subject
 * sequence, because their events have one subject per agent; human events share the `_` subject.)
 */
export class HumanRegistry {
  constructor(
    private readonly store: RegistryStore,
    private readonly log: RegistryLog,
  ) {}

  /** Registers a human and returns the secret, this once. */
  async register(
    request: HumanRegistration,
    by: string,
  ): Promise<{ human: HumanView; secret: string }> {
    const secret = newClientSecret();
    const outcome = await this.create(request.human_id, request.roles, secret, by);
    if (!outcome.created) throw RegistryFailure.humanExists(request.human_id);
    return { human: outcome.human, secret };
  }

  /**
   * Creates a human with a given secret, unless the id exists. For `register` and for the
   * bootstrap admin; never logs or returns the secret.
   */
  async create(
    humanId: string,
    roles: readonly string[],
    secret: string,
    by: string,
  ): Promise<HumanRegistrationOutcome> {
    if ((await this.store.getHuman(humanId)) !== undefined) {
      return { created: false, reason: 'exists' };
    }
    const event = this.log.publisher.build({
      type: 'human.registered',
      eventId: deriveEventId(`human:${humanId}`, 'human.registered'),
      data: {
        human_id: humanId,
        roles: [...new Set(roles)],
        authentication: { method: 'client_secret', verifier: await hashSecret(secret) },
        by,
      },
    });
    const published = await this.log.publish(event);
    if (published.duplicate) return { created: false, reason: 'exists' };
    const { record } = await this.store.applyHumanEvents(humanId, [event]);
    if (record === undefined || record.last_event_id !== event.event_id) {
      return { created: false, reason: 'exists' };
    }
    return { created: true, human: toHumanView(record) };
  }

  /** Every human, by id. */
  async list(): Promise<HumanView[]> {
    return (await this.store.listHumans()).map(toHumanView);
  }

  /** Whether some active human has the admin role. */
  async hasActiveAdmin(): Promise<boolean> {
    const humans = await this.store.listHumans();
    return humans.some((human) => human.status === 'active' && human.roles.includes(ADMIN_ROLE));
  }

  /** The human, if registered. */
  async find(humanId: string): Promise<HumanView | undefined> {
    const record = await this.store.getHuman(humanId);
    return record === undefined ? undefined : toHumanView(record);
  }
}
