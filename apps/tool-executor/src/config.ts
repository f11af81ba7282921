import { Ulid } from '@warden/contracts';
import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';
import { DEFAULT_BREAKER_RULES } from './domain/breaker.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from './domain/outcome.js';
import { DEFAULT_MAX_ATTEMPTS } from './domain/redelivery.js';
import { secretsEnv } from './secrets/secrets-config.js';
import { FAIL_POINTS } from './use-cases/execute-tool.use-case.js';

const int = (min: number, max: number, example: string, fallback: number) =>
  withExample(z.coerce.number().int().min(min).max(max), example).default(fallback);

/** The tool executor's environment. */
export const ToolExecutorConfig = z.object({
  ...baseEnv,
  ...eventConsumerEnv,
  /**
   * Largest output (bytes of its JSON) an `intent.resolved` carries; a bigger one is replaced by
   * `{ truncated: true, bytes }`. At most 128 KiB, so the event stays under the 256 KiB limit.
   */
  EXECUTOR_MAX_OUTPUT_BYTES: int(1024, 128 * 1024, '65536', DEFAULT_MAX_OUTPUT_BYTES),
  /**
   * Upper bound on one attempt of any tool, whatever the tool's own timeout. The default lets the
   * longest `sleep` (60 s) finish.
   */
  EXECUTOR_TOOL_TIMEOUT_MS: int(100, 15 * 60_000, '65000', 65_000),
  /**
   * Added to an attempt's timeout to make the lease of its execution record: until then no other
   * replica runs the intent. Covers clock skew between replicas and the record writes.
   */
  EXECUTOR_LEASE_GRACE_MS: int(0, 60_000, '1000', 1_000),
  /** Attempts of one intent (first run and re-runs after interruptions) before it fails. */
  EXECUTOR_MAX_ATTEMPTS: int(1, 20, '3', DEFAULT_MAX_ATTEMPTS),
  /**
   * The upstreams registered tools may call in this env (YAML or JSON: name → base_url, the tools
   * allowed to call it, allow_private, allow_hosts; see src/adapters/upstreams.ts). Unset: none, so
   * every http tool fails `tool_misconfigured` and only the built-ins run.
   */
  EXECUTOR_UPSTREAMS_FILE: withExample(
    z.string().min(1),
    'deploy/executor/upstreams.yaml',
  ).optional(),
  /** Failures in a row that open a tool's breaker (issue 7 §4). */
  EXECUTOR_BREAKER_FAILURES: int(1, 1_000, '5', DEFAULT_BREAKER_RULES.consecutiveFailures),
  /** How long an open breaker fails calls fast before one probe may go through. */
  EXECUTOR_BREAKER_COOLDOWN_MS: int(100, 3_600_000, '30000', DEFAULT_BREAKER_RULES.cooldownMs),
  ...secretsEnv,
  /**
   * Crash drill switch (issue 7), for tests only; never set it in a deployment. The process
   * SIGKILLs itself at that point of the first attempt it runs (`before_call`: after
   * `tool.started`; `after_call`: the tool returned, `done` not recorded; `after_done`: `done`
   * recorded, nothing published or acked), so a process restarted without it must recover.
   */
  EXECUTOR_FAILPOINT: withExample(z.enum(FAIL_POINTS), 'after_call').optional(),
  /**
   * Crash drill: only the attempt of this intent dies at the failpoint. The same process then
   * recovers the intent an earlier process died on, so each crash costs one restart, not two.
   */
  EXECUTOR_FAILPOINT_INTENT: withExample(Ulid, '01JD4K6Z8V3M2T9Q7W5X1Y0B3C').optional(),
});
export type ToolExecutorConfig = z.infer<typeof ToolExecutorConfig>;
