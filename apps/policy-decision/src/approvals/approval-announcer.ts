import type { EventPublisher } from '@warden/messaging';
import type { ApprovalBook } from './approval-book.js';
import { outcomeEvents } from './approval-events.js';
import type { ApprovalRecord } from './approval-record.js';

/** The part of the service's publisher approvals use. */
export type ApprovalPublisher = Pick<EventPublisher, 'producer' | 'publish'>;

/**
 * Publishes the events of an approval's final status, then marks the record published. Safe to
 * run twice or on two replicas at once: the events' ids derive from the stored request, so a
 * second publish is a JetStream duplicate. A crash before `markPublished` leaves the record
 * `published: false` for the sweeper to announce again.
 */
export class ApprovalAnnouncer {
  constructor(
    private readonly book: ApprovalBook,
    private readonly publisher: ApprovalPublisher,
  ) {}

  async announce(record: ApprovalRecord): Promise<void> {
    if (record.status === 'pending') return;
    // In order: a consumer of intent.resolved may look for the approval event before it.
    for (const event of outcomeEvents(record, this.publisher.producer)) {
      await this.publisher.publish(event);
    }
    await this.book.markPublished(record);
  }
}
