import { z } from 'zod';
import type { HelpdeskOptions } from './helpdesk.js';

/** The helpdesk process's environment (`main.ts`). */
export const HelpdeskConfig = z.object({
  /** 0 picks a free port; the bound one is logged (`{"msg":"listening","port":…}`). */
  HELPDESK_PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  HELPDESK_HOST: z.string().default('127.0.0.1'),
  /** Holds `helpdesk.json`; created and seeded when missing. */
  HELPDESK_DATA_DIR: z.string().default('.warden/helpdesk'),
  /** The static bearer token, and the HS256 key of per-call JWTs (hence 32 characters). */
  HELPDESK_API_TOKEN: z.string().min(32, 'at least 32 characters (it is also an HS256 key)'),
  /** Enables `/_admin` (faults, writes, reset) for whoever holds it. */
  HELPDESK_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
});
export type HelpdeskConfig = z.infer<typeof HelpdeskConfig>;

/** Why the environment cannot start a helpdesk: every problem, one per variable. */
export class HelpdeskConfigError extends Error {
  override readonly name = 'HelpdeskConfigError';

  constructor(readonly problems: readonly string[]) {
    super(`invalid helpdesk configuration: ${problems.join('; ')}`);
  }
}

/**
 * Reads the helpdesk's variables; an empty value counts as unset. Throws one
 * {@link HelpdeskConfigError} listing every missing or invalid variable, never a value.
 */
export function parseHelpdeskConfig(
  env: Readonly<Record<string, string | undefined>>,
): HelpdeskConfig {
  const input = Object.fromEntries(
    Object.keys(HelpdeskConfig.shape).map((name) => [
      name,
      env[name] === '' ? undefined : env[name],
    ]),
  );
  const result = HelpdeskConfig.safeParse(input);
  if (result.success) return result.data;
  throw new HelpdeskConfigError(
    result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}: ${input[name] === undefined ? 'required' : issue.message}`;
    }),
  );
}

/** The options of `startHelpdesk` a configuration gives. */
export function helpdeskOptions(config: HelpdeskConfig): HelpdeskOptions {
  return {
    port: config.HELPDESK_PORT,
    host: config.HELPDESK_HOST,
    dataDir: config.HELPDESK_DATA_DIR,
    apiToken: config.HELPDESK_API_TOKEN,
    ...(config.HELPDESK_ADMIN_TOKEN === undefined
      ? {}
      : { adminToken: config.HELPDESK_ADMIN_TOKEN }),
  };
}
