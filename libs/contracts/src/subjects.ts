import { z } from 'zod';
import { isSubjectToken, SUBJECT_TOKEN_RULE } from './ids.js';

/** The reserved last subject token of events that belong to no agent (a policy published, a key rotated). */
export const NO_AGENT = '_';

/** A parsed event subject: `warden.<env>.evt.<type>.<agent>`. */
export interface EventSubject {
  readonly env: string;
  readonly type: string;
  /** The agent the event belongs to, or {@link NO_AGENT}. */
  readonly agent: string;
}

/** Thrown when a subject would be built from a token that breaks the subject rules. */
export class InvalidSubjectTokenError extends Error {
  override readonly name = 'InvalidSubjectTokenError';
  constructor(
    readonly field: string,
    readonly value: string,
    rule: string = SUBJECT_TOKEN_RULE,
  ) {
    super(`${field} ${JSON.stringify(value)} ${rule}`);
  }
}

function checkToken(field: string, value: string): string {
  if (!isSubjectToken(value)) throw new InvalidSubjectTokenError(field, value);
  return value;
}

const EVENT_TYPE_PATTERN = /^[a-z][a-z_]*\.[a-z][a-z_]*$/;

/** A human-readable statement of the {@link ToolTarget} rule, for error messages. */
export const TOOL_TARGET_RULE =
  'must be at most 256 characters of dot-separated tokens of letters, digits, "_" or "-" (no wildcards or spaces)';

/**
 * Where a tool service answers, relative to its env: a declaration's `executor.target` of the
 * `nats` adapter (`crm.lookup` → `tools.<env>.crm.lookup`, see {@link subjects.toolRequest}).
 * Several tokens, unlike ids, but no wildcards and no `$`: a target names exactly one subject,
 * and the `tools.<env>.` prefix keeps it out of Warden's events and APIs, the server's `$…`
 * subjects and every reply inbox.
 */
export const ToolTarget = z
  .string()
  .max(256, { error: TOOL_TARGET_RULE })
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { error: TOOL_TARGET_RULE });
export type ToolTarget = z.output<typeof ToolTarget>;

/** Builders for every subject Warden uses; never write a subject string by hand. */
export const subjects = {
  /** Everything the env's stream captures: `warden.<env>.evt.>`. */
  allEvents(env: string): string {
    return `warden.${checkToken('env', env)}.evt.>`;
  },
  /** One event's subject. `agent` is the agent id, or omitted for events that belong to no agent. */
  event(env: string, type: string, agent?: string): string {
    if (!EVENT_TYPE_PATTERN.test(type)) throw new InvalidSubjectTokenError('type', type);
    const last = agent === undefined || agent === NO_AGENT ? NO_AGENT : checkToken('agent', agent);
    return `warden.${checkToken('env', env)}.evt.${type}.${last}`;
  },
  /** A filter for one event type from every agent: `warden.<env>.evt.<type>.*`. */
  eventType(env: string, type: string): string {
    if (!EVENT_TYPE_PATTERN.test(type)) throw new InvalidSubjectTokenError('type', type);
    return `warden.${checkToken('env', env)}.evt.${type}.*`;
  },
  /** A request/reply API: `warden.<env>.api.<service>.<op>` (outside the stream). */
  api(env: string, service: string, op: string): string {
    return `warden.${checkToken('env', env)}.api.${checkToken('service', service)}.${checkToken('op', op)}`;
  },
  /**
   * The request subject of an in-cluster tool service: `tools.<env>.<target>` (outside the
   * stream; the executor's `nats` adapter sends it, the tool's service answers it).
   */
  toolRequest(env: string, target: string): string {
    if (!ToolTarget.safeParse(target).success) {
      throw new InvalidSubjectTokenError('target', target, TOOL_TARGET_RULE);
    }
    return `tools.${checkToken('env', env)}.${target}`;
  },
  /** Every tool request of an env: `tools.<env>.>` (what the executor may publish). */
  toolRequests(env: string): string {
    return `tools.${checkToken('env', env)}.>`;
  },
  /** The JetStream stream of an env: `WARDEN_<ENV>`. */
  streamName(env: string): string {
    return `WARDEN_${checkToken('env', env).toUpperCase()}`;
  },
} as const;

/** Parses an event subject, or returns `undefined` when it is not `warden.<env>.evt.<noun>.<verb>.<agent>`. */
export function parseEventSubject(subject: string): EventSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || parts[0] !== 'warden' || parts[2] !== 'evt') return undefined;
  const [, env = '', , noun = '', verb = '', agent = ''] = parts;
  const type = `${noun}.${verb}`;
  if (!isSubjectToken(env) || !EVENT_TYPE_PATTERN.test(type)) return undefined;
  if (agent !== NO_AGENT && !isSubjectToken(agent)) return undefined;
  return { env, type, agent };
}
