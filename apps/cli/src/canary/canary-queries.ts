import { z } from 'zod';
import { LogCount } from '../runs/run-queries.js';

/*
 * What `warden canary report` asks the audit log, through the trace collector's `audit.sql`.
 * Plain queries over `events` and the views of deploy/clickhouse/0002 and 0004 (run_overview,
 * tool_calls), following their conventions: qualified column references, "last" by
 * (occurred_at, stream_seq), filters on (env, run_id) so they are pushed below each view's
 * aggregation. Values are bound, never spliced.
 *
 * Everything is aggregated in the log: the answer is a few rows per arm however many runs the
 * canary assigned (one audit.sql reply carries at most 900 KiB), including what the rank test
 * needs (stats.ts): per metric, the sizes, the canary's rank sum and the tie term.
 *
 * Parameters: env, canary (its id), since (DateTime64 text).
 */

/**
 * The runs the canary assigned: `run.started` names it (`data.canary.id`) and the arm. A run
 * logged twice (a retried insert past deduplication) counts once.
 */
const ASSIGNED = `assigned AS (
    SELECT e.run_id                                            AS run_id,
           any(JSONExtractString(e.data, 'canary', 'arm'))    AS arm,
           any(JSONExtractString(e.data, 'version'))          AS version
    FROM events AS e
    WHERE e.env = {env:String}
      AND e.type = 'run.started'
      AND e.occurred_at >= {since:DateTime64(6, 'UTC')}
      AND JSONExtractString(e.data, 'canary', 'id') = {canary:String}
    GROUP BY e.run_id
    HAVING arm IN ('baseline', 'canary')
)`;

/**
 * One row per governed call of those runs: the last policy decision's data, whether it was
 * executed, and the last answer to its approval ('' when none).
 */
const CALLS = `calls AS (
    SELECT e.run_id                                                                  AS run_id,
           e.intent_id                                                               AS intent_id,
           argMaxIf(e.data, (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS decided,
           countIf(e.type = 'intent.resolved' AND e.status = 'executed') > 0          AS executed,
           argMaxIf(e.type, (e.occurred_at, e.stream_seq),
                    e.type IN ('approval.granted', 'approval.denied', 'approval.expired')) AS answer
    FROM events AS e
    WHERE e.env = {env:String}
      AND e.run_id IN (SELECT run_id FROM assigned)
      AND e.intent_id != ''
      AND e.type IN ('policy.decided', 'intent.resolved',
                     'approval.granted', 'approval.denied', 'approval.expired')
    GROUP BY e.run_id, e.intent_id
)`;

/**
 * Per run: escaped errors — executed calls whose decision's risk was a write that is also bulk,
 * money, permission or production (the writes DESIGN §6 puts before a human) with no approval
 * granted — and the policy versions its calls were decided under.
 */
const CALL_FACTS = `call_facts AS (
    SELECT c.run_id AS run_id,
           countIf(c.executed
                   AND c.answer != 'approval.granted'
                   AND JSONExtractBool(c.decided, 'risk', 'write')
                   AND (JSONExtractBool(c.decided, 'risk', 'bulk')
                        OR JSONExtractBool(c.decided, 'risk', 'money')
                        OR JSONExtractBool(c.decided, 'risk', 'permission')
                        OR JSONExtractBool(c.decided, 'risk', 'production')))  AS escaped,
           groupUniqArrayIf(JSONExtractUInt(c.decided, 'policy_version'), c.decided != '') AS policy_versions
    FROM calls AS c
    GROUP BY c.run_id
)`;

/**
 * One row per assigned run: how it stands (run_overview), calls Warden refused (denied or
 * rejected, as `runs list` counts denials), approvals asked, spend, its duration (run.started to
 * its end or halt; NULL while running) and the call facts above.
 */
const PER_RUN = `per_run AS (
    SELECT a.arm                                                   AS arm,
           a.version                                               AS version,
           o.run_id                                                AS run_id,
           o.status                                                AS status,
           o.intents                                               AS intents,
           o.denied + o.rejected                                   AS refused,
           o.approvals_requested                                   AS approvals,
           o.cost_micro_usd                                        AS cost,
           if(o.status = 'running', NULL,
              toUnixTimestamp64Micro(coalesce(o.ended_at, o.halted_at, o.last_at))
              - toUnixTimestamp64Micro(o.started_at))               AS duration_us,
           ifNull(f.escaped, 0)                                    AS escaped,
           f.policy_versions                                       AS policy_versions
    FROM run_overview AS o
    INNER JOIN assigned AS a ON a.run_id = o.run_id
    LEFT JOIN call_facts AS f ON f.run_id = o.run_id
    WHERE o.env = {env:String} AND o.run_id IN (SELECT run_id FROM assigned)
)`;

const WITH_RUNS = `WITH ${ASSIGNED},\n${CALLS},\n${CALL_FACTS},\n${PER_RUN}`;

/** The governed calls' end-to-end latency (proposed to resolved), per assigned run's arm. */
const CALL_LATENCY = `call_latency AS (
    SELECT a.arm AS arm, t.end_to_end_us AS latency_us
    FROM tool_calls AS t
    INNER JOIN assigned AS a ON a.run_id = t.run_id
    WHERE t.env = {env:String}
      AND t.run_id IN (SELECT run_id FROM assigned)
      AND t.end_to_end_us IS NOT NULL
)`;

/**
 * Per arm: the counts the report shows, spend, the run duration's percentiles (exact, linearly
 * interpolated like numpy's default), the versions the runs recorded and the policy versions
 * their calls were decided under.
 */
export const CANARY_ARMS_SQL = `${WITH_RUNS}
SELECT r.arm                                                AS arm,
       count()                                              AS runs,
       countIf(r.status = 'succeeded')                      AS succeeded,
       countIf(r.status = 'failed')                         AS failed,
       countIf(r.status = 'halted')                         AS halted,
       countIf(r.status = 'running')                        AS running,
       sum(r.intents)                                       AS calls,
       countIf(r.refused > 0)                               AS runs_with_denial,
       sum(r.refused)                                       AS calls_denied,
       sum(r.approvals)                                     AS approvals_requested,
       sum(r.escaped)                                       AS escaped_errors,
       countIf(r.escaped > 0)                               AS runs_with_escaped_error,
       sum(r.cost)                                          AS cost_micro_usd,
       sumIf(r.cost, r.status = 'succeeded')                AS succeeded_cost_micro_usd,
       countIf(r.duration_us IS NOT NULL)                   AS durations,
       quantilesExactInclusive(0.5, 0.95, 0.99)(r.duration_us) AS duration_us,
       arraySort(groupUniqArray(r.version))                 AS versions,
       arraySort(groupUniqArrayArray(r.policy_versions))    AS policy_versions
FROM per_run AS r
GROUP BY r.arm
ORDER BY arm`;

/** Per arm: how many calls have a latency, and its percentiles. */
export const CANARY_LATENCY_SQL = `WITH ${ASSIGNED},\n${CALL_LATENCY}
SELECT l.arm                                                  AS arm,
       count()                                                AS calls,
       quantilesExactInclusive(0.5, 0.95, 0.99)(l.latency_us) AS latency_us
FROM call_latency AS l
GROUP BY l.arm
ORDER BY arm`;

/** The metrics the rank test compares, each a sample per arm (see CANARY_RANKS_SQL). */
export const RANKED_METRICS = [
  'calls_denied',
  'approvals_requested',
  'escaped_errors',
  'cost_per_successful_run',
  'run_duration',
  'call_latency',
] as const;
export type RankedMetric = (typeof RANKED_METRICS)[number];

/**
 * Per metric, what the Mann-Whitney U test needs (stats.ts `RankSummary`) and each arm's sum:
 * the samples are grouped by value; each value's mean rank is the count of smaller values plus
 * (t + 1) / 2 for t equal ones; the canary's rank sum adds that for each of its values; the tie
 * term is Σ(t³ − t). Exact over any number of samples, and only one row per metric comes back.
 */
export const CANARY_RANKS_SQL = `${WITH_RUNS},
${CALL_LATENCY},
samples AS (
    SELECT r.arm AS arm, m.1 AS metric, m.2 AS value
    FROM per_run AS r
    ARRAY JOIN [
        tuple('calls_denied', toNullable(toFloat64(r.refused))),
        tuple('approvals_requested', toNullable(toFloat64(r.approvals))),
        tuple('escaped_errors', toNullable(toFloat64(r.escaped))),
        tuple('cost_per_successful_run',
              if(r.status = 'succeeded', toNullable(toFloat64(r.cost)), NULL)),
        tuple('run_duration', toFloat64(r.duration_us))
    ] AS m
    WHERE m.2 IS NOT NULL
    UNION ALL
    SELECT l.arm AS arm, 'call_latency' AS metric, toNullable(toFloat64(l.latency_us)) AS value
    FROM call_latency AS l
),
by_value AS (
    SELECT s.metric                                          AS metric,
           s.value                                           AS value,
           toFloat64(countIf(s.arm = 'canary'))              AS in_canary,
           toFloat64(count())                                AS tied,
           toFloat64(sum(count()) OVER (PARTITION BY s.metric ORDER BY s.value
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS below
    FROM samples AS s
    GROUP BY s.metric, s.value
)
SELECT v.metric                                              AS metric,
       sum(v.tied - v.in_canary)                             AS n_baseline,
       sum(v.in_canary)                                      AS n_canary,
       sum(v.value * (v.tied - v.in_canary))                 AS sum_baseline,
       sum(v.value * v.in_canary)                            AS sum_canary,
       sum(v.in_canary * (v.below + (v.tied + 1) / 2))       AS rank_sum_canary,
       sum(v.tied * v.tied * v.tied - v.tied)                AS tie_term
FROM by_value AS v
GROUP BY v.metric
ORDER BY v.metric`;

/** Every `canary.changed` event of one canary, in log order (its start, then its end). */
export const CANARY_EVENTS_SQL = `SELECT e.occurred_at AS occurred_at, e.data AS data
FROM events AS e
WHERE e.env = {env:String}
  AND e.type = 'canary.changed'
  AND JSONExtractString(e.data, 'canary_id') = {canary:String}
ORDER BY e.occurred_at, e.stream_seq`;

/** A workflow's latest canary in the log, for the hint when none is in force. */
export const LAST_CANARY_SQL = `SELECT JSONExtractString(e.data, 'canary_id') AS canary_id,
       JSONExtractString(e.data, 'change') AS change,
       e.occurred_at AS occurred_at
FROM events AS e
WHERE e.env = {env:String}
  AND e.type = 'canary.changed'
  AND JSONExtractString(e.data, 'workflow') = {workflow:String}
ORDER BY e.occurred_at DESC, e.stream_seq DESC
LIMIT 1`;

// Sums of Int64 micro-USD: exact as strings, read as BigInt.
const MicroUsdSum = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(BigInt);
// Float64 arrives as a number; an empty quantile is NaN, which JSON carries as null.
const Float = z
  .union([z.number(), z.string().regex(/^-?[\d.eE+-]+$/), z.null()])
  .transform((value) => (value === null ? Number.NaN : Number(value)));
const Arm = z.enum(['baseline', 'canary']);
const Quantiles = z.array(Float).length(3);

/** A row of {@link CANARY_ARMS_SQL}. */
export const ArmRow = z.object({
  arm: Arm,
  runs: LogCount,
  succeeded: LogCount,
  failed: LogCount,
  halted: LogCount,
  running: LogCount,
  calls: LogCount,
  runs_with_denial: LogCount,
  calls_denied: LogCount,
  approvals_requested: LogCount,
  escaped_errors: LogCount,
  runs_with_escaped_error: LogCount,
  cost_micro_usd: MicroUsdSum,
  succeeded_cost_micro_usd: MicroUsdSum,
  durations: LogCount,
  duration_us: Quantiles,
  versions: z.array(z.string()),
  policy_versions: z.array(LogCount),
});
export type ArmRow = z.output<typeof ArmRow>;

/** A row of {@link CANARY_LATENCY_SQL}. */
export const LatencyRow = z.object({ arm: Arm, calls: LogCount, latency_us: Quantiles });
export type LatencyRow = z.output<typeof LatencyRow>;

/** A row of {@link CANARY_RANKS_SQL}. */
export const RankRow = z.object({
  metric: z.enum(RANKED_METRICS),
  n_baseline: Float,
  n_canary: Float,
  sum_baseline: Float,
  sum_canary: Float,
  rank_sum_canary: Float,
  tie_term: Float,
});
export type RankRow = z.output<typeof RankRow>;

/** A row of {@link CANARY_EVENTS_SQL}. */
export const CanaryEventRow = z.object({ occurred_at: z.string(), data: z.string() });

/** A row of {@link LAST_CANARY_SQL}. */
export const LastCanaryRow = z.object({
  canary_id: z.string(),
  change: z.string(),
  occurred_at: z.string(),
});
