import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';

const bounded = (min: number, max: number, fallback: number) =>
  withExample(z.coerce.number().int().min(min).max(max), String(fallback)).default(fallback);

/** The policy decision service's environment. */
export const PolicyDecisionConfig = z.object({
  ...baseEnv,
  ...eventConsumerEnv,
  /** How long an approval request waits for a human before the intent is denied, seconds. */
  POLICY_APPROVAL_TTL_SECONDS: bounded(10, 7 * 24 * 3600, 3600),
  /** How often expired approvals are looked for, milliseconds. */
  POLICY_APPROVAL_SWEEP_MS: bounded(100, 60_000, 5_000),
  /**
   * Whether a `shadow` policy version, when one is published, is evaluated beside the active one
   * (divergences logged as `policy.shadow_diverged`). Off halves the decision cost.
   */
  POLICY_SHADOW_ENABLED: withExample(z.stringbool(), 'true').default(true),
});
export type PolicyDecisionConfig = z.infer<typeof PolicyDecisionConfig>;
