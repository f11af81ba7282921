import { DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream';
import type { DeliveryInfo } from './push-delivery.js';

/** Where a reader starts: after the stream's last message, or at a time. */
export type ReadFrom = { readonly kind: 'new' } | { readonly kind: 'time'; readonly at: Date };

/** What to do with one delivered message. */
export type DeliveryVerdict =
  /** Hand it over: it is the next one. */
  | 'handle'
  /** Drop it: a message at or before this stream sequence was already handled or skipped. */
  | 'skip'
  /**
   * A delivery went missing (the consumer's sequence jumped): without acks it is never sent again,
   * so the consumer must be replaced by one that starts after the last message handled.
   */
  | 'gap';

/**
 * The bookkeeping of a reader that goes through a series of consumers ("generations"): the stream
 * sequence of the last message handled, and the next delivery sequence the current consumer
 * should send. Plain data in, verdicts out; the reader does the I/O.
 *
 * The guarantees it keeps: messages are handed over in stream order, at most once per stream
 * sequence, and a replacement consumer starts right after the last message handled or skipped —
 * or, when none was seen yet, right after where the first consumer started (its create reply
 * says), so nothing published while a consumer was being replaced is missed.
 */
export class ReaderPosition {
  private last: number | undefined;
  private expected = 1;

  constructor(private readonly from: ReadFrom) {}

  /** The stream sequence of the last message handled, or before the first one to read. */
  get lastSeq(): number | undefined {
    return this.last;
  }

  /** The start of the next consumer's config: after the last sequence, else as first asked. */
  startConfig(): Partial<ConsumerConfig> {
    if (this.last !== undefined) {
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.last + 1 };
    }
    switch (this.from.kind) {
      case 'new':
        return { deliver_policy: DeliverPolicy.New };
      case 'time':
        return {
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: this.from.at.toISOString(),
        };
    }
  }

  /** A new consumer is being made: its deliveries count from 1. */
  beginGeneration(): void {
    this.expected = 1;
  }

  /**
   * The server confirmed the consumer, with what it had delivered by then. When it had delivered
   * nothing, `delivered.stream_seq` is the sequence before the first it will deliver (exact for
   * `New` and a start sequence, a lower bound for a start time): the floor for later
   * replacements. Deliveries may overtake the create reply on the wire, so the position never
   * moves back.
   */
  created(delivered: { readonly stream_seq: number; readonly consumer_seq: number }): void {
    if (delivered.consumer_seq !== 0) return;
    this.last = Math.max(this.last ?? 0, delivered.stream_seq);
  }

  /** Judges one delivery of the current consumer, and moves the position when it is handed over. */
  delivered(info: Pick<DeliveryInfo, 'streamSeq' | 'deliverySeq'>): DeliveryVerdict {
    if (info.deliverySeq !== this.expected) return 'gap';
    this.expected++;
    if (this.last !== undefined && info.streamSeq <= this.last) return 'skip';
    this.last = info.streamSeq;
    return 'handle';
  }

  /**
   * Judges an idle heartbeat carrying the consumer's last delivery sequence: one past what
   * arrived means the last deliveries were lost (no later message would reveal the hole).
   */
  heartbeat(lastDeliverySeq: number | undefined): 'ok' | 'gap' {
    return lastDeliverySeq !== undefined && lastDeliverySeq >= this.expected ? 'gap' : 'ok';
  }
}
