import { BUILTIN_TOOLS, ToolName } from '@warden/contracts';
import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';

/** The tools allowed until the tool registry and Cedar policies arrive: every built-in but `fail`. */
const DEFAULT_ALLOWED = Object.keys(BUILTIN_TOOLS)
  .filter((tool) => tool !== 'fail')
  .join(',');

/** The policy decision service's environment. */
export const PolicyDecisionConfig = z.object({
  ...baseEnv,
  ...eventConsumerEnv,
  /**
   * Comma-separated tools agents may call (deny by default: anything else is denied). A static
   * allowlist stands in for Cedar policies until they arrive.
   */
  POLICY_ALLOWED_TOOLS: withExample(z.string(), 'echo,sleep,noop')
    .default(DEFAULT_ALLOWED)
    .transform((list) =>
      list
        .split(',')
        .map((tool) => tool.trim())
        .filter((tool) => tool.length > 0),
    )
    .pipe(z.array(ToolName)),
});
export type PolicyDecisionConfig = z.infer<typeof PolicyDecisionConfig>;
