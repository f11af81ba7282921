-- 0003: the cost views operators read (issue 6 §8, `warden costs`). Plain views over `events`,
-- following 0002's conventions (qualified column references, grouping by (env, run_id) where a
-- run is the unit, "last" by (occurred_at, stream_seq)).
--
-- Money stays integer micro-USD (Int64, the type of events.cost_micro_usd): never Float.
-- Cost is what `budget.settled` booked, model calls and tool calls alike; reservations are not
-- spend. Days are UTC (occurred_at is DateTime64(6, 'UTC')).

-- One row per run: who ran it, in which workflow, how it ended and what it cost.
CREATE OR REPLACE VIEW run_costs AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    anyIf(e.agent_id, e.agent_id != '')                                      AS agent_id,
    -- Any event's envelope workflow (a settlement inherits it from its cause, so one event
    -- without it does not matter); failing that, the workflow run.started declared in its data.
    if(countIf(e.workflow != '') > 0,
       anyIf(e.workflow, e.workflow != ''),
       anyIf(JSONExtractString(e.data, 'workflow'), e.type = 'run.started')) AS workflow,
    -- The run's start day; its first event's day when run.started is not (yet) in the log.
    toDate(coalesce(minOrNullIf(e.occurred_at, e.type = 'run.started'),
                    min(e.occurred_at)))                                     AS day,
    -- How the run ended by the agent's own account (succeeded, failed, cancelled), else halted
    -- (Warden stopped it and it never ended), else active. Unlike `runs`, an ending wins over a
    -- halt: a run paused, or halted by a degraded upstream, may resume and succeed, and it then
    -- counts as a success. `halt_reason` still says it was halted.
    multiIf(
        countIf(e.type = 'run.ended') > 0,
        if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended',
           argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')),
        countIf(e.type = 'run.halted') > 0, 'halted',
        'active')                                                            AS status,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    -- Tool calls the governor counted as steps (one budget.reserved per counted intent; model
    -- calls reserve through model.routed and are not steps).
    uniqExactIf(e.intent_id, e.type = 'budget.reserved')                     AS steps,
    countIf(e.type = 'budget.settled')                                       AS settled_calls,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled')                       AS cost_micro_usd
FROM events AS e
WHERE e.run_id != ''
GROUP BY e.env, e.run_id;

-- Per workflow and start day: how many runs, how many succeeded, what they cost, and the cost of
-- one successful run = every run's cost that day (failed and halted ones included: they are the
-- price of the successes) divided by the successful runs. Integer division, rounded down to the
-- micro-USD; NULL when no run succeeded.
CREATE OR REPLACE VIEW workflow_daily_costs AS
SELECT
    r.env                                                                    AS env,
    r.workflow                                                               AS workflow,
    r.day                                                                    AS day,
    count()                                                                  AS runs,
    countIf(r.status = 'succeeded')                                          AS succeeded_runs,
    sum(r.cost_micro_usd)                                                    AS cost_micro_usd,
    -- intDivOrZero: the division is never by zero here, but `if` may evaluate both branches.
    if(countIf(r.status = 'succeeded') = 0, NULL,
       intDivOrZero(sum(r.cost_micro_usd), countIf(r.status = 'succeeded'))) AS cost_per_successful_run_micro_usd
FROM run_costs AS r
GROUP BY r.env, r.workflow, r.day;

-- Per agent and UTC day of the settlement (not of the run's start: a run crossing midnight
-- spends on both days): what the agent's model and tool calls booked.
CREATE OR REPLACE VIEW agent_daily_spend AS
SELECT
    e.env                                                                    AS env,
    e.agent_id                                                               AS agent_id,
    toDate(e.occurred_at)                                                    AS day,
    sum(e.cost_micro_usd)                                                    AS cost_micro_usd,
    count()                                                                  AS settled_calls,
    uniqExact(e.run_id)                                                      AS runs
FROM events AS e
WHERE e.type = 'budget.settled'
GROUP BY e.env, e.agent_id, day;

-- Runs Warden halted, per workflow, start day and (last) reason (loop, paused,
-- upstream_degraded, …), however they ended afterwards.
CREATE OR REPLACE VIEW halted_runs_by_reason AS
SELECT
    r.env                                                                    AS env,
    r.workflow                                                               AS workflow,
    r.day                                                                    AS day,
    r.halt_reason                                                            AS reason,
    count()                                                                  AS runs
FROM run_costs AS r
WHERE r.halt_reason != ''
GROUP BY r.env, r.workflow, r.day, r.halt_reason;
