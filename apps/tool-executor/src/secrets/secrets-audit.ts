import type { EventPublisher } from '@warden/messaging';
import { ulid } from 'ulid';
import type { SecretChange } from './secret-record.js';
import type { SecretAudit } from './secret-store.js';

/** The audit of credential changes in the event log: one `secret.changed` each, never a value. */
export class EventSecretAudit implements SecretAudit {
  constructor(private readonly publisher: EventPublisher) {}

  async record(change: SecretChange): Promise<void> {
    const { ref, version, action, by } = change;
    await this.publisher.publish(
      this.publisher.build({
        type: 'secret.changed',
        eventId: ulid(),
        data: { ref, version, action, by },
      }),
    );
  }
}
