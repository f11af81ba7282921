import type { SealedOutput } from '@warden/contracts';
import { openValue, sealValue } from '../secrets/secret-seal.js';
import type { RunKeys } from './run-keys.js';

/**
 * Seals a tool's raw output with its run's key, the intent id as additional data (a sealed output
 * copied onto another intent does not open), and opens it again for replay.
 */
export class OutputSealer {
  constructor(private readonly keys: RunKeys) {}

  /** The sealed output, or `undefined` when no key can be had (no master key configured). */
  async seal(runId: string, intentId: string, output: unknown): Promise<SealedOutput | undefined> {
    const key = await this.keys.keyFor(runId);
    if (key === undefined) return undefined;
    const sealed = sealValue(JSON.stringify(output), key, intentId);
    return { alg: 'A256GCM', key_id: runId, ...sealed };
  }

  /** The output, or `undefined` when it does not open (its run's key erased, or not this one). */
  async open(intentId: string, sealed: SealedOutput): Promise<{ output: unknown } | undefined> {
    const key = await this.keys.find(sealed.key_id);
    if (key === undefined) return undefined;
    const text = openValue(sealed, key, intentId);
    return text === undefined ? undefined : { output: JSON.parse(text) as unknown };
  }
}
