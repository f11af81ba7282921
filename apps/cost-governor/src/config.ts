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
});
export type CostGovernorConfig = z.infer<typeof CostGovernorConfig>;
