import type {
  AgentListRequest,
  AgentRegisterRequest,
  AgentView,
  AuthenticationMethod,
} from '@warden/contracts';
import { ulid } from 'ulid';
import type { z } from 'zod';
import { hashSecret, newClientSecret } from '../domain/secret-verifier.js';
import {
  LIFECYCLE_EVENT,
  refuseTransition,
  type LifecycleAction,
} from './domain/agent-lifecycle.js';
import type { AgentEvent } from './domain/agent-projection.js';
import { toAgentView } from './domain/views.js';
import type { KvAgentDirectory } from './infra/kv-agent-directory.js';
import type { RegistryLog } from './infra/registry-log.js';
import type { RegistryStore } from './infra/registry-store.js';
import { RegistryFailure } from './registry.errors.js';

/** A validated `agent-register` request. */
export type AgentRegistration = z.output<typeof AgentRegisterRequest>;

/** What `agent-register` answers: the agent, and its client secret this once. */
export interface RegisteredAgent {
  readonly agent: AgentView;
  readonly client_secret?: string;
}

/**
 * The agent use cases behind the admin APIs: register, list, show, suspend, resume, retire.
 *
 * Every change follows one order: check against KV → publish the event (JetStream acked) → apply
 * the same projection to KV under compare-and-set → answer. The log is written first because it
 * is the source of truth: a crash after the publish and before the KV write leaves the change in
 * the log only, and that is repaired by replaying the log through the projection, which every
 * replica does at start (RegistryLifecycle) and which is idempotent (records carry the position
 * of their last event). The opposite order could leave a KV change no event explains, which no
 * rebuild can recover. A crash before the publish changes nothing.
 */
export class AgentRegistry {
  constructor(
    private readonly store: RegistryStore,
    private readonly log: RegistryLog,
    private readonly directory: KvAgentDirectory,
  ) {}

  /**
   * Registers a new agent. Without a public key it makes a client secret, keeps only its scrypt
   * verifier (in the event and in KV) and returns the secret, once.
   */
  async register(request: AgentRegistration, by: string): Promise<RegisteredAgent> {
    const env = this.log.env;
    const { agent_id: agentId, public_jwk: publicJwk, environment, ...attributes } = request;
    if (environment !== undefined && environment !== env) {
      throw RegistryFailure.wrongEnvironment(environment, env);
    }
    const existing = await this.store.getAgent(agentId);
    if (existing !== undefined) throw RegistryFailure.agentExists(agentId, existing.status);
    if ((await this.store.getHuman(attributes.owner)) === undefined) {
      throw RegistryFailure.ownerNotFound(attributes.owner);
    }

    let clientSecret: string | undefined;
    let authentication: AuthenticationMethod;
    if (publicJwk === undefined) {
      clientSecret = newClientSecret();
      authentication = { method: 'client_secret', verifier: await hashSecret(clientSecret) };
    } else {
      authentication = { method: 'private_key_jwt', public_jwk: publicJwk };
    }
    const event = this.log.publisher.build({
      type: 'agent.registered',
      eventId: ulid(),
      agentId,
      data: { ...attributes, environment: env, authentication, by },
    });

    if ((await this.log.publishRegistration(event)) === 'exists') {
      // The log already registers this id though KV did not know it: a registration whose KV
      // write was lost, or one racing with this call. Bring KV up to the log, then refuse.
      const registered = await this.log.registrationOf(agentId);
      const repaired = registered === undefined ? undefined : await this.apply(registered);
      throw RegistryFailure.agentExists(agentId, repaired?.status);
    }
    const record = await this.apply(event);
    if (record === undefined || record.last_event_id !== event.event_id) {
      // Only possible if another registration reached KV first: not ours to report as created.
      throw RegistryFailure.agentExists(agentId, record?.status);
    }
    return {
      agent: toAgentView(record),
      ...(clientSecret === undefined ? {} : { client_secret: clientSecret }),
    };
  }

  /** Every agent of the env, optionally only those with one status. */
  async list(request: z.output<typeof AgentListRequest>): Promise<AgentView[]> {
    const agents = await this.store.listAgents();
    return agents
      .filter((agent) => request.status === undefined || agent.status === request.status)
      .map(toAgentView);
  }

  /** One agent. */
  async show(agentId: string): Promise<AgentView> {
    const record = await this.store.getAgent(agentId);
    if (record === undefined) throw RegistryFailure.agentNotFound(agentId);
    return toAgentView(record);
  }

  /** Suspends, resumes or retires an agent, if its state machine allows it. */
  async changeStatus(
    agentId: string,
    action: LifecycleAction,
    by: string,
    reason?: string,
  ): Promise<AgentView> {
    const record = await this.store.getAgent(agentId);
    if (record === undefined) throw RegistryFailure.agentNotFound(agentId);
    const refusal = refuseTransition(agentId, record.status, action);
    if (refusal !== undefined) throw RegistryFailure.transition(refusal);
    const event = this.log.publisher.build({
      type: LIFECYCLE_EVENT[action],
      eventId: ulid(),
      agentId,
      data: { by, ...(reason === undefined ? {} : { reason }) },
    });
    await this.log.publish(event);
    const updated = await this.apply(event);
    // `updated` reflects concurrent changes too (a retirement by another admin wins).
    if (updated === undefined) throw RegistryFailure.agentNotFound(agentId);
    return toAgentView(updated);
  }

  /** Applies one event to KV and to this replica's directory view. */
  private async apply(event: AgentEvent) {
    const agentId = event.agent_id;
    if (agentId === undefined) return undefined;
    const { record, revision } = await this.store.applyAgentEvents(agentId, [event]);
    this.directory.observe(agentId, record, revision);
    return record;
  }
}
