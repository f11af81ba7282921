import { buildEvent, type Envelope, type Producer } from '@warden/contracts';
import { monotonicFactory } from 'ulid';

/** The producer of events that tests and benches publish. */
export const TEST_PRODUCER: Producer = { service: 'test', instance: 'test-1', version: '0.0.0' };

// Monotonic, so events built in one millisecond still sort in the order they were built.
const nextUlid = monotonicFactory();

/** What {@link proposedEvent} varies; everything has a valid default. */
export interface ProposedEventOptions {
  agent?: string;
  run?: string;
  step?: number;
  tool?: string;
  /** Replaces the default args (`{ ticket: 42 }`). */
  args?: Record<string, unknown>;
  /** Adds a `note` of this many bytes to the args, to make bigger events. */
  padBytes?: number;
  producer?: Producer;
}

/** A valid `intent.proposed` of `env` with a fresh ULID as event and intent id. */
export function proposedEvent(
  env: string,
  options: ProposedEventOptions = {},
): Envelope<'intent.proposed'> {
  const id = nextUlid();
  const args = options.args ?? { ticket: 42 };
  return buildEvent({
    type: 'intent.proposed',
    env,
    eventId: id,
    intentId: id,
    runId: options.run ?? 'run-1',
    agentId: options.agent ?? 'agent-1',
    producer: options.producer ?? TEST_PRODUCER,
    data: {
      tool: options.tool ?? 'zendesk.update_ticket',
      args: options.padBytes ? { ...args, note: 'x'.repeat(options.padBytes) } : args,
      step: options.step ?? 1,
    },
  });
}
