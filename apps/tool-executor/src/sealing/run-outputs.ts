import type {
  OpenedOutput,
  OutputsEraseResult,
  OutputsOpenResult,
  SealedOutput,
} from '@warden/contracts';
import type { EventPublisher } from '@warden/messaging';
import { ulid } from 'ulid';
import { openValue } from '../secrets/secret-seal.js';
import type { RunKeys } from './run-keys.js';

/** One sealed output to open: its intent and the payload the collector stored. */
export interface SealedItem {
  readonly intent_id: string;
  readonly sealed: SealedOutput;
}

/**
 * What admins do with a run's sealed outputs (`warden runs outputs`, `warden runs erase-outputs`):
 * open them for a replay or an investigation, or erase the run's key so they never open again.
 * Both are logged before they take effect (`run.outputs_opened`, `run.outputs_erased`): reading
 * raw outputs reaches past redaction, and forgetting one must leave a trace of who and why.
 */
export class RunOutputs {
  constructor(
    private readonly keys: RunKeys,
    private readonly publisher: EventPublisher,
  ) {}

  async open(
    runId: string,
    items: readonly SealedItem[],
    purpose: string,
    by: string,
  ): Promise<OutputsOpenResult> {
    await this.publisher.publish(
      this.publisher.build({
        type: 'run.outputs_opened',
        eventId: ulid(),
        runId,
        data: { by, purpose, intent_ids: items.map((item) => item.intent_id) },
      }),
    );
    const key = await this.keys.find(runId);
    return { run_id: runId, outputs: items.map((item) => openItem(runId, key, item)) };
  }

  async erase(runId: string, reason: string, by: string): Promise<OutputsEraseResult> {
    const hadKey = await this.keys.exists(runId);
    await this.publisher.publish(
      this.publisher.build({
        type: 'run.outputs_erased',
        eventId: ulid(),
        runId,
        data: { by, reason, had_key: hadKey },
      }),
    );
    if (hadKey) await this.keys.erase(runId);
    return { run_id: runId, had_key: hadKey, erased_by: by };
  }
}

function openItem(runId: string, key: Buffer | undefined, item: SealedItem): OpenedOutput {
  const { intent_id: intentId, sealed } = item;
  // Another run's payload would not open with this key anyway; say so rather than `erased`.
  if (sealed.key_id !== runId) return { intent_id: intentId, status: 'unreadable' };
  if (key === undefined) return { intent_id: intentId, status: 'erased' };
  const text = openValue(sealed, key, intentId);
  return text === undefined
    ? { intent_id: intentId, status: 'unreadable' }
    : { intent_id: intentId, status: 'opened', output: JSON.parse(text) as unknown };
}
