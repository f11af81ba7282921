import {
  isSubjectToken,
  RELEASE_ASSIGN_OP,
  subjects,
  SUBJECT_TOKEN_RULE,
  type EventType,
} from '@warden/contracts';
import { NatsAuthError } from './nats-auth.errors.js';

/**
 * What one NATS principal may do: the `pub`/`sub` allow and deny lists of its user JWT, whether
 * it may answer requests (`allow_responses`), and the inbox prefix its client must use. Plain data,
 * so the tables are reviewable and unit-tested; {@link userClaims} turns them into JWT claims.
 */
export interface NatsPermissions {
  /**
   * The prefix of the client's reply inboxes (nats.js connect option `inboxPrefix`). Each
   * principal has its own, and may subscribe only under it: nobody can read another's replies.
   */
  readonly inboxPrefix: string;
  readonly pub: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly sub: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /**
   * `allow_responses`: the principal may publish `max` messages to the reply subject of each
   * message it received, for `ttlMs`. How services answer APIs without a publish grant on every
   * caller's inbox.
   */
  readonly responses?: { readonly max: number; readonly ttlMs: number };
  /** Per-connection limits; unset means unlimited. */
  readonly limits?: { readonly subs?: number; readonly payload?: number };
}

/** The five Warden services, each with its own NATS user. */
export const WARDEN_SERVICES = [
  'identity-broker',
  'policy-decision',
  'cost-governor',
  'tool-executor',
  'trace-collector',
] as const;
/** A Warden service name. */
export type WardenService = (typeof WARDEN_SERVICES)[number];

/** Whether `name` is one of {@link WARDEN_SERVICES}. */
export function isWardenService(name: string): name is WardenService {
  return (WARDEN_SERVICES as readonly string[]).includes(name);
}

/** One durable consumer of a service: its name and its one filter (nats-server 2.9). */
export interface DurableGrant {
  readonly durable: string;
  /** An event type (filter `warden.<env>.evt.<type>.*`), or `'*'` for every event. */
  readonly eventType: EventType | '*';
}

/** What a service does on NATS; {@link servicePermissions} derives its grants from this. */
export interface ServiceProfile {
  /** Event types consumed, one durable each (named like `durableName` of `@warden/messaging`). */
  readonly consumes: readonly DurableGrant[];
  /** Event types it publishes, for any agent (`warden.<env>.evt.<type>.*`). */
  readonly publishes: readonly EventType[];
  /** The API it answers: `warden.<env>.api.<api>.*`. */
  readonly api?: string;
  /** KV buckets (`warden_<env>_<name>`) it creates and writes. */
  readonly kvOwn: readonly string[];
  /** KV buckets of other services it reads (get, watch). */
  readonly kvRead: readonly string[];
  /** Other services' API ops it calls, as `<api>.<op>` (`identity.human-introspect`). */
  readonly calls?: readonly string[];
  /**
   * Event types it reads back from the log (the identity broker rebuilds its registry from
   * `agent.*` and `human.*` at start, and looks one registration up by subject): short-lived
   * ordered consumers with generated names, filter pinned per type, and last-by-subject gets.
   */
  readonly replays?: readonly EventType[];
  /**
   * It sends requests to in-cluster tool services (the executor's `nats` adapter): publish on
   * `tools.<env>.>`. Replies come back on its own inbox, which it subscribes to anyway.
   */
  readonly toolRequests?: true;
}

/**
 * The durable name `consumeEvents` gives a service's consumer of one event type
 * (`durableName` in `@warden/messaging`): `<service>__<type with . → _>`. Repeated here, not
 * imported, so this table stays plain data; a unit test checks the two agree.
 */
export function serviceDurable(service: WardenService, eventType: EventType): string {
  return `${service}__${eventType.replaceAll('.', '_')}`;
}

const consumes = (service: WardenService, ...types: EventType[]): DurableGrant[] =>
  types.map((eventType) => ({ durable: serviceDurable(service, eventType), eventType }));

/**
 * Every service's inputs, outputs, API and buckets: the one table to change when a service starts
 * consuming or publishing something new (its NATS user refuses it until then). Every consumer
 * publishes `event.dead_lettered` (`consumeEvents` dead-letters after its last attempt).
 */
export const SERVICE_PROFILES: Readonly<Record<WardenService, ServiceProfile>> = {
  'identity-broker': {
    consumes: consumes('identity-broker', 'intent.proposed'),
    publishes: [
      'intent.authenticated',
      'intent.resolved',
      'agent.registered',
      'agent.suspended',
      'agent.resumed',
      'agent.retired',
      'credential.issued',
      'credential.revoked',
      'signing_key.rotated',
      'human.registered',
      'human.updated',
      'event.dead_lettered',
    ],
    api: 'identity',
    kvOwn: ['agents', 'humans', 'revocations', 'signing_keys', 'assertion_jtis'],
    kvRead: [],
    replays: [
      'agent.registered',
      'agent.suspended',
      'agent.resumed',
      'agent.retired',
      'human.registered',
      'human.updated',
    ],
  },
  'policy-decision': {
    // Approval answers come in through its API, never as events to consume.
    consumes: consumes('policy-decision', 'intent.authenticated'),
    publishes: [
      'policy.decided',
      'intent.resolved',
      'approval.requested',
      'approval.granted',
      'approval.denied',
      'approval.expired',
      'policy.published',
      'policy.shadow_diverged',
      'tool.registered',
      // Canary releases (`warden canary`), with who and why.
      'canary.changed',
      'event.dead_lettered',
    ],
    api: 'policy',
    kvOwn: ['policies', 'tools', 'approvals', 'releases'],
    kvRead: [],
    // Admin and approval ops carry a human token, which only the broker can verify.
    calls: ['identity.human-introspect'],
    // The policy and tool registries and the canaries are rebuilt from their events at start.
    replays: ['policy.published', 'tool.registered', 'canary.changed'],
  },
  'cost-governor': {
    consumes: consumes(
      'cost-governor',
      'policy.decided',
      'approval.granted',
      'run.started',
      'intent.resolved',
      'model.requested',
      'model.usage',
      // Reservations come back when due, to be reconciled if they never settled.
      'budget.reserved',
      // The controls, projected from the log.
      'budget.configured',
      'agent.paused',
      'agent.unpaused',
      'workflow.paused',
      'workflow.resumed',
      'breaker.opened',
      'breaker.closed',
    ),
    publishes: [
      'budget.reserved',
      'model.routed',
      'budget.settled',
      'budget.configured',
      'intent.resolved',
      'run.halted',
      'agent.paused',
      'agent.unpaused',
      'workflow.paused',
      'workflow.resumed',
      'event.dead_lettered',
    ],
    api: 'cost',
    kvOwn: ['runs', 'budgets', 'rate_limits'],
    kvRead: ['agents'],
    // Admin ops carry a human token, which only the broker can verify.
    calls: ['identity.human-introspect'],
  },
  'tool-executor': {
    consumes: consumes('tool-executor', 'budget.reserved'),
    publishes: [
      'tool.started',
      'intent.resolved',
      'breaker.opened',
      'breaker.closed',
      // Audit of its credential store (`warden secrets`): ref and version, never the value.
      'secret.changed',
      // A person's verdict on an in-doubt execution (`warden executions resolve`).
      'execution.reviewed',
      // Admins reading or erasing a run's sealed outputs (`warden runs outputs|erase-outputs`).
      'run.outputs_opened',
      'run.outputs_erased',
      'event.dead_lettered',
    ],
    api: 'tools',
    kvOwn: ['executions', 'breakers', 'secrets', 'run_keys'],
    kvRead: ['tools'],
    // Its secrets ops carry a human token, which only the broker can verify.
    calls: ['identity.human-introspect'],
    // Registered tools with `executor: { adapter: nats, target: <t> }` answer on `tools.<env>.<t>`.
    toolRequests: true,
  },
  'trace-collector': {
    // One durable over the whole stream: the collector records every event.
    consumes: [{ durable: 'trace-collector', eventType: '*' }],
    publishes: ['event.dead_lettered'],
    api: 'audit',
    // Its checkpoint signing keys' public halves, which `audit verify` trusts (issue 9, item 7).
    kvOwn: ['checkpoint_keys'],
    kvRead: [],
  },
};

/**
 * The event types an agent may publish, each only on its own subject: its intents and runs, its
 * model calls and what they used (`model.requested`, `model.usage`: the cost governor routes and
 * books them), and the spans it reports (`trace.span`, for the run's timeline). None of them is a
 * decision: the services still decide and book every one.
 */
export const AGENT_PUBLISHES = [
  'intent.proposed',
  'run.started',
  'run.ended',
  'model.requested',
  'model.usage',
  'trace.span',
] as const;
/**
 * The event types an agent reads, only on its own subject: its outcomes, the approval requests of
 * its intents (the agent is waiting on them: issue 5), and the routing of its model calls.
 */
export const AGENT_READS = ['intent.resolved', 'approval.requested', 'model.routed'] as const;

/** Every durable name of every service, from {@link SERVICE_PROFILES}. */
export function serviceDurableNames(): string[] {
  return WARDEN_SERVICES.flatMap((service) =>
    SERVICE_PROFILES[service].consumes.map((grant) => grant.durable),
  );
}

/** How long a responder may answer a request it received (`allow_responses`). */
const RESPONSE_TTL_MS = 2 * 60_000;

function check(field: string, value: string): string {
  if (!isSubjectToken(value)) {
    throw new NatsAuthError(
      'invalid_name',
      `${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`,
    );
  }
  return value;
}

/**
 * Where an agent's id goes in the template of the broker's scoped signing key: the value of the
 * user JWT's tag `agent:<id>`, which the broker sets when it mints the agent's credential.
 * nats-server 2.9 expands a template only when it is a whole subject token (`a.{{tag(agent)}}.b`,
 * never `a_{{tag(agent)}}`), so every subject of an agent holds its id as a token of its own.
 */
export const AGENT_ID_TEMPLATE = '{{tag(agent)}}';

/** The tag key of {@link AGENT_ID_TEMPLATE}: a minted agent JWT carries `agent:<id>`. */
export const AGENT_ID_TAG = 'agent';

/** The first token of every agent inbox; the agent's id is the second (see below). */
const AGENT_INBOX_ROOT = '_INBOX_agent_';

/**
 * The inbox prefix of an agent: `_INBOX_agent_.<id>`. The id is a token of its own because the
 * server fills it in from a template, which 2.9 does only for whole tokens; the fixed first token
 * keeps every agent's inbox apart from the services', the bootstrap user's and the CLI's
 * (`_INBOX_svc_…`, `_INBOX_bootstrap`, `_INBOX_cli`), whatever the agent is called.
 */
export function agentInboxPrefix(agentId: string): string {
  return `${AGENT_INBOX_ROOT}.${check('agent', agentId)}`;
}

/** The inbox prefix of a service: `_INBOX_svc_<service>` (its replicas share it). */
export function serviceInboxPrefix(service: WardenService): string {
  return `_INBOX_svc_${service}`;
}

/** The inbox prefix of the bootstrap user: `_INBOX_bootstrap`. */
export const BOOTSTRAP_INBOX_PREFIX = '_INBOX_bootstrap';

/**
 * The subject that creates a consumer with a name and a filter on nats-server ≥ 2.9
 * (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`). The server refuses a request whose body
 * names another consumer or another filter than the subject, which is what lets a permission on
 * this subject pin the filter.
 */
export function consumerCreateSubject(stream: string, name: string, filter: string): string {
  return `$JS.API.CONSUMER.CREATE.${stream}.${name}.${filter}`;
}

/**
 * An agent's grants (DESIGN §6): publish only its own events ({@link AGENT_PUBLISHES}: intents,
 * runs, model calls, spans), ask for tokens and for its new runs' release, and read only its own outcomes, approval requests,
 * model routings ({@link AGENT_READS}) and replies.
 *
 * Outcomes are read through a *push* consumer the agent creates: the create subject pins the
 * filter to `warden.<env>.evt.intent.resolved.<agent>` (or another type of {@link AGENT_READS};
 * any consumer name), the deliver subject
 * is under the agent's inbox, and the agent holds no `$JS.API.CONSUMER.MSG.NEXT`, `INFO` or
 * `DELETE` grant at all: pull requests name the consumer only by a subject token that a
 * permission cannot confine to "this agent's consumers", so with them an agent could pull from a
 * service's durable. The ephemeral push consumer disappears on its own once its deliver subject
 * has no subscriber (its inactive threshold).
 */
export function agentPermissions(env: string, agentId: string): NatsPermissions {
  check('env', env);
  check('agent', agentId);
  const inboxPrefix = agentInboxPrefix(agentId);
  const reads = AGENT_READS.map((type) => subjects.event(env, type, agentId));
  return {
    inboxPrefix,
    pub: {
      allow: [
        ...AGENT_PUBLISHES.map((type) => subjects.event(env, type, agentId)),
        subjects.api(env, 'identity', 'token'),
        // Which release a new run gets (a canary's share, or the promoted release).
        subjects.api(env, 'policy', RELEASE_ASSIGN_OP),
        ...reads.map((subject) => consumerCreateSubject(subjects.streamName(env), '*', subject)),
      ],
      // The consumer name is free (a permission cannot match part of a token), so the names of
      // the services' durables are taken away: an agent must not squat one before its service
      // starts, nor send a create that would touch an existing one.
      deny: serviceDurableNames().map((durable) =>
        consumerCreateSubject(subjects.streamName(env), durable, '>'),
      ),
    },
    sub: {
      // Its own outcomes live (core NATS) and everything delivered to its inbox: request replies,
      // JetStream publish acks, and its push consumers' messages.
      allow: [`${inboxPrefix}.>`, ...reads],
      deny: [],
    },
  };
}

/**
 * A valid agent id that stands for "the agent" while {@link agentPermissionsTemplate} derives the
 * template from {@link agentPermissions}; no real subject token of the grants looks like it.
 */
const TEMPLATE_PROBE_ID = 'agent-id-template-probe-0';

/**
 * {@link agentPermissions} with {@link AGENT_ID_TEMPLATE} in place of the agent's id: the template
 * of the identity broker's scoped signing key. The server applies it to every user that key signs
 * (whose JWT must carry no permissions of its own), so the key mints agents only, never a user
 * with more than an agent's grants. Derived from `agentPermissions` itself (for a probe id, then
 * replaced token by token), so the two cannot drift; an id that ever ends up inside a longer
 * token, where 2.9 would not expand the template, is refused here instead of granting nothing.
 */
export function agentPermissionsTemplate(env: string): NatsPermissions {
  check('env', env);
  if (env === TEMPLATE_PROBE_ID) {
    throw new NatsAuthError('invalid_name', `env ${JSON.stringify(env)} is reserved`);
  }
  const probe = agentPermissions(env, TEMPLATE_PROBE_ID);
  const fill = (subject: string): string => {
    const filled = subject
      .split('.')
      .map((token) => (token === TEMPLATE_PROBE_ID ? AGENT_ID_TEMPLATE : token))
      .join('.');
    if (filled.includes(TEMPLATE_PROBE_ID)) {
      throw new NatsAuthError(
        'invalid_name',
        `the agent id is part of a longer token in ${subject}: nats-server 2.9 cannot template it`,
      );
    }
    return filled;
  };
  const fillAll = (list: readonly string[]): string[] => list.map(fill);
  return {
    // Limits and `responses`, should agents ever get them, carry over unchanged.
    ...probe,
    inboxPrefix: fill(probe.inboxPrefix),
    pub: { allow: fillAll(probe.pub.allow), deny: fillAll(probe.pub.deny) },
    sub: { allow: fillAll(probe.sub.allow), deny: fillAll(probe.sub.deny) },
  };
}

/**
 * The bootstrap user: the one credential shared by every agent host, good only for asking the
 * identity broker for a first token (with `nats_public_key` and a sealing key, see the README).
 * Its inbox is shared by every holder, so the broker must seal its replies.
 */
export function bootstrapPermissions(env: string): NatsPermissions {
  check('env', env);
  return {
    inboxPrefix: BOOTSTRAP_INBOX_PREFIX,
    pub: { allow: [subjects.api(env, 'identity', 'token')], deny: [] },
    sub: { allow: [`${BOOTSTRAP_INBOX_PREFIX}.>`], deny: [] },
    // A token request is a few hundred bytes; the caps bound what a leaked bootstrap
    // credential can cost the server.
    limits: { subs: 8, payload: 16 * 1024 },
  };
}

/** The KV stream of a bucket: `KV_warden_<env>_<name>`. */
function kvStream(env: string, name: string): string {
  return `KV_warden_${env}_${check('bucket', name)}`;
}

/** Grants on one KV bucket: reading (get, watch) and, for its owner, creating and writing. */
function kvGrants(env: string, name: string, write: boolean): string[] {
  const stream = kvStream(env, name);
  const bucket = `warden_${env}_${name}`;
  const read = [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    // Watches and key listings run through ordered consumers the client creates (with or
    // without a name in the subject), inspects and deletes.
    `$JS.API.CONSUMER.*.${stream}`,
    `$JS.API.CONSUMER.*.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
  ];
  if (!write) return read;
  return [
    ...read,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.UPDATE.${stream}`,
    `$KV.${bucket}.>`,
  ];
}

/** The filter of a service durable. */
function durableFilter(env: string, grant: DurableGrant): string {
  return grant.eventType === '*'
    ? subjects.allEvents(env)
    : subjects.eventType(env, grant.eventType);
}

/**
 * A service's grants, derived from {@link SERVICE_PROFILES}: provision the env stream (every
 * service's transport does so at start), create and pull its own durables (filter pinned) and ack
 * their messages, publish its own event types, answer its API, call the APIs and (the executor)
 * the tool services it needs, and use its KV buckets.
 */
export function servicePermissions(env: string, service: WardenService): NatsPermissions {
  check('env', env);
  const profile = SERVICE_PROFILES[service];
  const stream = subjects.streamName(env);
  const inboxPrefix = serviceInboxPrefix(service);
  const durables = profile.consumes.flatMap((grant) => [
    consumerCreateSubject(stream, grant.durable, durableFilter(env, grant)),
    `$JS.API.CONSUMER.INFO.${stream}.${grant.durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${grant.durable}`,
    // ack, nak, term and "working" go to the reply subject of each delivered message.
    `$JS.ACK.${stream}.${grant.durable}.>`,
  ]);
  const kv = [
    ...profile.kvOwn.flatMap((name) => kvGrants(env, name, true)),
    ...profile.kvRead.flatMap((name) => kvGrants(env, name, false)),
  ];
  const replays = profile.replays ?? [];
  const reads =
    replays.length === 0
      ? []
      : [
          ...replays.map((type) =>
            consumerCreateSubject(stream, '*', subjects.eventType(env, type)),
          ),
          // Ordered consumers get generated names (`<nuid>_<n>`): any name, minus the durables
          // of the other services (denied below).
          `$JS.API.CONSUMER.INFO.${stream}.*`,
          `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
          `$JS.API.CONSUMER.DELETE.${stream}.*`,
          // One registration by subject (`last_by_subj`).
          `$JS.API.STREAM.MSG.GET.${stream}`,
        ];
  // A create naming an existing durable is applied as an update of its filter (see the README),
  // and a pull from one takes its messages: the other services' durables are off limits.
  const othersDurables =
    replays.length === 0
      ? []
      : serviceDurableNames().filter(
          (durable) => !profile.consumes.some((grant) => grant.durable === durable),
        );
  return {
    inboxPrefix,
    pub: {
      allow: dedupe([
        // Account info: nats.js asks for it when a JetStream manager is made.
        '$JS.API.INFO',
        `$JS.API.STREAM.INFO.${stream}`,
        `$JS.API.STREAM.CREATE.${stream}`,
        `$JS.API.STREAM.UPDATE.${stream}`,
        ...durables,
        ...profile.publishes.map((type) => subjects.eventType(env, type)),
        ...(profile.calls ?? []).map((call) => `warden.${env}.api.${call}`),
        ...(profile.toolRequests === true ? [subjects.toolRequests(env)] : []),
        ...kv,
        ...reads,
      ]),
      deny: othersDurables.flatMap((durable) => [
        consumerCreateSubject(stream, durable, '>'),
        `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
        `$JS.API.CONSUMER.DELETE.${stream}.${durable}`,
      ]),
    },
    sub: {
      allow: [
        `${inboxPrefix}.>`,
        ...(profile.api === undefined ? [] : [`warden.${env}.api.${check('api', profile.api)}.*`]),
      ],
      deny: [],
    },
    // Answering its API (and flow-control replies of KV watches) without a grant on callers' inboxes.
    responses: { max: 1, ttlMs: RESPONSE_TTL_MS },
  };
}

/**
 * The CLI's grants (`warden` commands run by humans): call any API of the env; the admin ops still
 * check the human token in the request, this only lets the request through.
 */
export function cliPermissions(env: string): NatsPermissions {
  check('env', env);
  const inboxPrefix = '_INBOX_cli';
  return {
    inboxPrefix,
    pub: { allow: [`warden.${env}.api.>`], deny: [] },
    sub: { allow: [`${inboxPrefix}.>`], deny: [] },
  };
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}
