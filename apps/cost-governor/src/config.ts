import { parseUsd } from '@warden/contracts';
import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';

/** The cost governor's environment. */
export const CostGovernorConfig = z.object({
  ...baseEnv,
  ...eventConsumerEnv,
  /**
   * Most tool calls one run may make. A run's own `limits.max_steps` can only lower it. The run
   * record keeps the id of every counted intent, so this also bounds the record's size.
   */
  GOVERNOR_MAX_STEPS: withExample(z.coerce.number().int().min(1).max(10_000), '200').default(200),
  /**
   * Most one run may spend, USD (`"5.00"`; at most 6 decimals). Unset: no limit but the run's
   * own `limits.budget_micro_usd`, which can only lower this one.
   */
  GOVERNOR_RUN_BUDGET_USD: withExample(z.string(), '5.00')
    .transform((text, ctx) => {
      const parsed = parseUsd(text);
      if (parsed.ok) return parsed.microUsd;
      ctx.addIssue({
        code: 'custom',
        message: `must be a USD amount with at most 6 decimals, e.g. 5.00 (${parsed.error})`,
      });
      return z.NEVER;
    })
    .optional(),
  /**
   * Loop breaking: identical calls (same tool, same args) one run may make; the next one halts the
   * run (`run.halted{reason: loop}`). 0 turns the rule off.
   */
  GOVERNOR_LOOP_IDENTICAL_CALLS: withExample(z.coerce.number().int().min(0).max(1000), '3').default(
    3,
  ),
  /**
   * Loop breaking: steps a run may take without a write succeeding; the next one halts it. 0 (the
   * default) turns the rule off: read-heavy runs are normal, so operators opt in.
   */
  GOVERNOR_LOOP_STEPS_WITHOUT_WRITE: withExample(
    z.coerce.number().int().min(0).max(10_000),
    '50',
  ).default(0),
  /**
   * Where a day begins for daily budgets, in minutes east of UTC (0: UTC midnight; 60: midnight
   * at UTC+01:00). A fixed offset, so every day is 24 hours long.
   */
  GOVERNOR_DAY_OFFSET_MINUTES: withExample(
    z.coerce
      .number()
      .int()
      .min(-14 * 60)
      .max(14 * 60),
    '0',
  ).default(0),
  /**
   * A reservation still open this long after it was made (its executor was lost) is booked at its
   * reserved price (`budget.settled{reconciled}`), not held forever. Longer than any tool call.
   */
  GOVERNOR_RECONCILE_AFTER_MS: withExample(
    z.coerce
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000),
    '600000',
  ).default(600_000),
  /**
   * Model routing: a YAML or JSON file with the price table and the task classes (see the
   * built-in default in src/domain/routing/default-routing.ts for the shape). Unset: that default.
   */
  GOVERNOR_ROUTING_FILE: withExample(z.string().min(1), 'deploy/governor/routing.yaml').optional(),
});
export type CostGovernorConfig = z.infer<typeof CostGovernorConfig>;
