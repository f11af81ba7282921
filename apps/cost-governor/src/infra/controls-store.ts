import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import { newControls, type GovernorControls } from '../domain/controls.js';

/** The key of the controls value in the `budgets` bucket. */
export const CONTROLS_KEY = 'controls';

/**
 * Where the governor's controls live (domain/controls.ts): one value in KV `budgets`, read once
 * per intent and changed by compare-and-set. Read fresh every time rather than cached from a
 * watch: a pause must hold from the next intent on, on every replica, the moment its API call
 * returns, and one KV read is a fraction of a millisecond.
 */
export class ControlsStore {
  constructor(private readonly kv: KV) {}

  async read(): Promise<GovernorControls> {
    const entry = await this.kv.get(CONTROLS_KEY);
    if (entry === null || entry.operation !== 'PUT') return newControls();
    return { ...newControls(), ...entry.json<GovernorControls>() };
  }

  /**
   * Applies `change` (a pure transition: `undefined` leaves the value as it is) under
   * compare-and-set. Resolves to the controls now stored and whether this call changed them.
   */
  async update(
    change: (controls: GovernorControls) => GovernorControls | undefined,
  ): Promise<{ controls: GovernorControls; changed: boolean }> {
    const result = await casUpdate<GovernorControls>(
      this.kv,
      CONTROLS_KEY,
      (current) => change({ ...newControls(), ...current }),
      { maxAttempts: 30 },
    );
    return { controls: { ...newControls(), ...result.value }, changed: result.written };
  }
}
