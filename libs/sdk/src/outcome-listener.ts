import {
  DeliverPolicy,
  jetstream,
  type ConsumerMessages,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseEvent, subjects, type Envelope } from '@warden/contracts';

type Resolved = Envelope<'intent.resolved'>;

/** How far before an intent's own time a catch-up read starts (clock skew between hosts). */
const CATCH_UP_SKEW_MS = 5_000;

/**
 * Receives this agent's outcomes (`intent.resolved` on `warden.<env>.evt.intent.resolved.<agent>`)
 * and hands each to the call waiting for it.
 *
 * One ordered consumer, started before the first call: JetStream keeps the outcomes, so one
 * published while the connection was down is delivered after the reconnect (the ordered consumer
 * resumes after the last sequence it saw). An outcome published before this listener existed (the
 * agent restarted and asks again for an earlier intent) is found by a catch-up read that starts
 * at the intent's own time (its ULID).
 */
export class OutcomeListener {
  private readonly waiting = new Map<string, (event: Resolved) => void>();
  private readonly readers = new Set<ConsumerMessages>();
  private readonly startedAt = Date.now();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
  ) {}

  static async start(nc: NatsConnection, env: string, agentId: string): Promise<OutcomeListener> {
    const listener = new OutcomeListener(nc, env, agentId);
    await listener.read({ deliver_policy: DeliverPolicy.New });
    return listener;
  }

  /**
   * Resolves with the outcome of `intentId`. `proposedAt` (epoch ms) is the intent's time: when it
   * is older than this listener, the outcome may already be on the stream, so it is read from there.
   */
  wait(intentId: string, proposedAt: number, signal: AbortSignal): Promise<Resolved> {
    return new Promise<Resolved>((resolve, reject) => {
      let catchUp: ConsumerMessages | undefined;
      const done = () => {
        this.waiting.delete(intentId);
        signal.removeEventListener('abort', abort);
        if (catchUp) this.stopReader(catchUp);
      };
      const abort = () => {
        done();
        reject(reasonOf(signal));
      };
      if (signal.aborted) {
        reject(reasonOf(signal));
        return;
      }
      signal.addEventListener('abort', abort, { once: true });
      this.waiting.set(intentId, (event) => {
        done();
        resolve(event);
      });
      if (proposedAt < this.startedAt) {
        this.read({
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: new Date(proposedAt - CATCH_UP_SKEW_MS).toISOString(),
        }).then(
          (reader) => {
            if (this.waiting.has(intentId)) catchUp = reader;
            else this.stopReader(reader);
          },
          (error: unknown) => {
            done();
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      }
    });
  }

  /** Stops every reader; calls still waiting are rejected by their own abort signals. */
  close(): void {
    this.closed = true;
    for (const reader of this.readers) this.stopReader(reader);
  }

  private async read(options: Partial<OrderedConsumerOptions>): Promise<ConsumerMessages> {
    const consumer = await jetstream(this.nc).consumers.get(subjects.streamName(this.env), {
      // One subject as a string: nats-server 2.9 takes one filter per consumer.
      filter_subjects: subjects.event(this.env, 'intent.resolved', this.agentId),
      ...options,
    });
    const messages = await consumer.consume();
    this.readers.add(messages);
    void (async () => {
      for await (const message of messages) this.deliver(message.data, message.subject);
    })().catch(() => {
      // The reader was stopped, or the connection closed: nothing waits on it any more.
    });
    if (this.closed) this.stopReader(messages);
    return messages;
  }

  private deliver(data: Uint8Array, subject: string): void {
    if (this.waiting.size === 0) return;
    const parsed = parseEvent(data, { env: this.env, subject });
    // A message that is not a valid outcome is not for us to judge: the collector records it.
    if (!parsed.ok || parsed.event.type !== 'intent.resolved') return;
    const intentId = parsed.event.intent_id;
    if (intentId !== undefined) this.waiting.get(intentId)?.(parsed.event);
  }

  private stopReader(reader: ConsumerMessages): void {
    this.readers.delete(reader);
    // stop(), not close(): close() waits for pull requests nats-server 2.9 may never answer.
    reader.stop();
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
