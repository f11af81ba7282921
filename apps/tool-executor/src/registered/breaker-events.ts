import type { EventPublisher } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import { ulid } from 'ulid';
import { timestampOf } from '../domain/execution-record.js';
import type { BreakerListener } from './registered-tools.runner.js';

/**
 * Announces a breaker's changes in the log (`breaker.opened` / `breaker.closed`): the cost
 * governor halts the runs that call the tool until it closes, and operators see why. Only the
 * replica whose compare-and-set made the change announces it, so each change is one event.
 */
export class BreakerEvents implements BreakerListener {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
  ) {}

  async changed(
    tool: string,
    change: 'opened' | 'closed',
    reason: string | undefined,
    probeAfter?: number,
  ): Promise<void> {
    const opened = change === 'opened';
    const data = {
      tool,
      ...(reason === undefined || !opened ? {} : { reason }),
      ...(probeAfter === undefined || !opened ? {} : { probe_after: timestampOf(probeAfter) }),
    };
    await this.publisher.publish(
      this.publisher.build({ type: `breaker.${change}`, eventId: ulid(), data }),
    );
    this.logger.warn({ tool, change, reason }, `breaker ${change}`);
  }
}
