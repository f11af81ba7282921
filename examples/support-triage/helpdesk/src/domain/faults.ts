import { z } from 'zod';

const Ms = z.number().int().min(0).max(60_000);

/**
 * What `POST /_admin/faults` sets: the whole fault state, replacing the previous one.
 * - `fail_next`: the next n ticket requests answer `status` (default 500) without doing anything;
 * - `delay_ms`: every ticket response waits this long after the work is done (a slow upstream);
 * - `delay_before_apply_ms`: every write waits this long after it is received, before it is
 *   applied (a caller that times out meanwhile has a write that is applied anyway: in doubt).
 */
export const FaultPlan = z.strictObject({
  fail_next: z.number().int().min(0).max(10_000).default(0),
  status: z.union([z.literal(500), z.literal(503)]).default(500),
  delay_ms: Ms.default(0),
  delay_before_apply_ms: Ms.default(0),
});
export type FaultPlan = z.infer<typeof FaultPlan>;

const NO_FAULTS: FaultPlan = { fail_next: 0, status: 500, delay_ms: 0, delay_before_apply_ms: 0 };

/** The faults in force; one per helpdesk, in memory only (a restart clears them). */
export class Faults {
  private plan: FaultPlan = NO_FAULTS;

  set(plan: FaultPlan): void {
    this.plan = { ...plan };
  }

  clear(): void {
    this.plan = NO_FAULTS;
  }

  /** What is left of the plan (`fail_next` counts down). */
  current(): FaultPlan {
    return { ...this.plan };
  }

  /** Consumes one injected failure: the status to answer, or undefined to serve the request. */
  takeFailure(): number | undefined {
    if (this.plan.fail_next === 0) return undefined;
    this.plan = { ...this.plan, fail_next: this.plan.fail_next - 1 };
    return this.plan.status;
  }
}
