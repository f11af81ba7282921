import type { NatsConnection } from '@nats-io/transport-node';
import { envFlagFor } from '../commands/common-options.js';
import { callPolicyAdmin, type AdminOptions } from '../commands/admin-options.js';
import { auditSql } from '../commands/audit.command.js';
import { connectForCli } from '../nats-client.js';
import { CliError } from '../output.js';
import { clickHouseTime, parseSinceOption, rfc3339 } from '../runs/run-queries.js';
import { loadSuites } from '../eval/suite.js';
import { stackSources } from '../eval/intent-cases.js';
import { evaluateCanarySuites } from './canary-eval.js';
import {
  CANARY_ARMS_SQL,
  CANARY_EVENTS_SQL,
  CANARY_LATENCY_SQL,
  CANARY_RANKS_SQL,
  LAST_CANARY_SQL,
  LastCanaryRow,
} from './canary-queries.js';
import {
  canaryFromEvents,
  canaryFromView,
  canaryReportFrom,
  type CanaryEval,
  type CanaryInfo,
  type CanaryReport,
} from './canary-report.js';

/** What `warden canary report` is asked. */
export interface CanaryReportOptions extends AdminOptions {
  readonly workflow: string;
  /** A canary by id (one that ended, say); default: the workflow's canary in force. */
  readonly canary?: string;
  /** `7d`, `24h`, `2026-11-01`; default: the canary's start, less an hour of clock skew. */
  readonly since?: string;
  /** Golden suites whose intent cases are decided under each arm's policy. */
  readonly suites?: readonly string[];
}

/** Runs whose clock is behind the policy service's still count: the default window opens early. */
const CLOCK_SKEW_MS = 3_600_000;

/**
 * The report of a workflow's canary, read from the policy decision service (the canary in force,
 * the policy versions for `suites`) and the audit log (everything else), as `warden canary report
 * --json` prints it.
 */
export async function readCanaryReport(
  options: CanaryReportOptions,
  now: Date = new Date(),
): Promise<CanaryReport> {
  // Suites first: a malformed one is refused before anything is asked.
  const suites = options.suites === undefined ? undefined : await loadSuites(options.suites);
  const nc = await connectForCli(options.nats);
  try {
    const query = auditQuery(nc, options.env);
    const canary = await findCanary(options, query);
    const window = reportWindow(canary, options.since, now);
    const params = { env: options.env, canary: canary.canary_id, since: window.param };
    const rows = {
      arms: await query(CANARY_ARMS_SQL, params),
      latency: await query(CANARY_LATENCY_SQL, params),
      ranks: await query(CANARY_RANKS_SQL, params),
    };
    let evaluated: CanaryEval | undefined;
    if (suites !== undefined) {
      const baseline = await stackSources(options, { describe: (v) => `version ${v} (active)` });
      const own =
        canary.policy_version === undefined
          ? undefined
          : await stackSources(options, {
              version: canary.policy_version,
              describe: (v) => `version ${v} (the canary's)`,
            });
      evaluated = evaluateCanarySuites(
        suites,
        canary,
        { baseline, ...(own === undefined ? {} : { canary: own }) },
        options.env,
      );
    }
    return canaryReportFrom({
      env: options.env,
      canary,
      window: { since: window.since, from: window.from },
      rows,
      ...(evaluated === undefined ? {} : { eval: evaluated }),
    });
  } finally {
    await nc.close();
  }
}

type Query = (
  sql: string,
  params: Readonly<Record<string, string>>,
) => Promise<Record<string, unknown>[]>;

/** One `audit.sql` request to the env's trace collector; a cut answer is refused, never shown. */
function auditQuery(nc: NatsConnection, env: string): Query {
  return async (sql, params) => {
    const result = await auditSql(nc, env, { sql, params, max_rows: 1000 }, { timeoutMs: 60_000 });
    if (result.truncated) {
      throw new CliError(
        'the audit log cut its answer short: the report would be wrong',
        'Narrow the window with --since.',
      );
    }
    return result.rows;
  };
}

/**
 * The canary to report: `--canary` from the log's `canary.changed` events (it may have ended),
 * else the workflow's canary in force per the policy decision service.
 */
async function findCanary(options: CanaryReportOptions, query: Query): Promise<CanaryInfo> {
  const envFlag = envFlagFor(options.env);
  if (options.canary !== undefined) {
    const canary = canaryFromEvents(
      await query(CANARY_EVENTS_SQL, { env: options.env, canary: options.canary }),
    );
    if (canary === undefined) {
      throw new CliError(
        `no canary ${options.canary} in the audit log of env ${options.env}`,
        `\`warden canary list${envFlag}\` shows the canaries in force; \`warden audit sql "SELECT occurred_at, data FROM events WHERE type = 'canary.changed'"\` every change.`,
      );
    }
    if (canary.workflow !== options.workflow) {
      throw new CliError(
        `canary ${canary.canary_id} is of workflow ${canary.workflow}, not ${options.workflow}`,
        `Run \`warden canary report --workflow ${canary.workflow} --canary ${canary.canary_id}${envFlag}\`.`,
      );
    }
    return canary;
  }
  const { canaries } = await callPolicyAdmin(options, 'canary-list', {});
  const view = canaries.find((c) => c.workflow === options.workflow);
  if (view !== undefined) return canaryFromView(view);
  const [last] = await query(LAST_CANARY_SQL, { env: options.env, workflow: options.workflow });
  const parsed = LastCanaryRow.safeParse(last);
  throw new CliError(
    `workflow ${options.workflow} has no canary in force in env ${options.env}`,
    parsed.success
      ? `Its last canary, ${parsed.data.canary_id}, was ${parsed.data.change} at ${rfc3339(parsed.data.occurred_at)}: \`warden canary report --workflow ${options.workflow} --canary ${parsed.data.canary_id}${envFlag}\` reports it. A new one: \`warden canary start --workflow ${options.workflow} --version <version> --percent 10${envFlag}\`.`
      : `Start one: \`warden canary start --workflow ${options.workflow} --version <version> --percent 10${envFlag}\`.`,
  );
}

/** The window's start: `--since`, else the canary's start less {@link CLOCK_SKEW_MS}. */
export function reportWindow(
  canary: Pick<CanaryInfo, 'started_at'>,
  since: string | undefined,
  now: Date,
): { since: string; from: string; param: string } {
  if (since !== undefined) {
    const parsed = parseSinceOption(since, now);
    return { since: parsed.text, from: rfc3339(parsed.from), param: parsed.from };
  }
  const param = clickHouseTime(new Date(Date.parse(canary.started_at) - CLOCK_SKEW_MS));
  return { since: 'the canary started, less an hour', from: rfc3339(param), param };
}
