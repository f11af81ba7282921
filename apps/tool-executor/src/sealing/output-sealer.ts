import type { SealedOutput } from '@warden/contracts';
import { sealValue } from '../secrets/secret-seal.js';
import type { RunKeys } from './run-keys.js';

/**
 * Seals a tool's raw output with its run's key, the intent id as additional data (a sealed output
 * copied onto another intent does not open). `RunOutputs` opens them again.
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
}
