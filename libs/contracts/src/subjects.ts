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
  ) {
    super(`${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`);
  }
}

function checkToken(field: string, value: string): string {
  if (!isSubjectToken(value)) throw new InvalidSubjectTokenError(field, value);
  return value;
}

const EVENT_TYPE_PATTERN = /^[a-z][a-z_]*\.[a-z][a-z_]*$/;

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
