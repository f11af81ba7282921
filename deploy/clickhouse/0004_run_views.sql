-- 0004: the views `warden runs list|show` read (issue 8 §5): one row per run with what an operator
-- asks first (how it ended, steps, spend, denials, approvals waiting), and one row per refused
-- intent with the policies that refused it. Plain views over `events`, following 0002's
-- conventions (qualified column references, grouping by (env, run_id, …) so a filter on those is
-- pushed below the aggregation, "last" by (occurred_at, stream_seq)).
--
-- Counts of intents are uniqExact over intent ids, not counts of events: a duplicate row that got
-- past insert deduplication (a retry outside its window) does not count twice. Money stays Int64
-- micro-USD.

-- One row per run.
CREATE OR REPLACE VIEW run_overview AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    anyIf(e.agent_id, e.agent_id != '')                                      AS agent_id,
    -- As in run_costs: any envelope's workflow, else the one run.started declared in its data.
    if(countIf(e.workflow != '') > 0,
       anyIf(e.workflow, e.workflow != ''),
       anyIf(JSONExtractString(e.data, 'workflow'), e.type = 'run.started')) AS workflow,
    -- run.started's time; the first event's when run.started is not (yet) in the log.
    coalesce(minOrNullIf(e.occurred_at, e.type = 'run.started'),
             min(e.occurred_at))                                             AS started_at,
    max(e.occurred_at)                                                       AS last_at,
    maxOrNullIf(e.occurred_at, e.type = 'run.ended')                         AS ended_at,
    -- How the run stands: the agent's own ending (succeeded, failed, cancelled; `ended` if it
    -- gave none), else halted (Warden stopped it and it never ended), else running. As in
    -- run_costs an ending wins over a halt (a paused run may resume and succeed); halt_reason
    -- still says it was halted.
    multiIf(
        countIf(e.type = 'run.ended') > 0,
        if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended',
           argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')),
        countIf(e.type = 'run.halted') > 0, 'halted',
        'running')                                                           AS status,
    argMaxIf(JSONExtractString(e.data, 'outcome'), (e.occurred_at, e.stream_seq),
             e.type = 'run.ended')                                           AS outcome,
    maxOrNullIf(e.occurred_at, e.type = 'run.halted')                        AS halted_at,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    argMaxIf(JSONExtractString(e.data, 'message'), (e.occurred_at, e.stream_seq),
             e.type = 'run.halted')                                          AS halt_message,
    argMaxIf(JSONExtractString(e.data, 'by'), (e.occurred_at, e.stream_seq),
             e.type = 'run.halted')                                          AS halted_by,
    -- The limits the agent declared on run.started (JSON object text, '' when none): the
    -- governor may have tightened them further; max_steps is the cap it reported.
    anyIf(JSONExtractRaw(e.data, 'limits'), e.type = 'run.started')          AS declared_limits,
    argMaxIf(JSONExtractUInt(e.data, 'max_steps'), (e.occurred_at, e.stream_seq),
             e.type = 'budget.reserved')                                     AS max_steps,
    -- Tool calls the governor counted as steps (one budget.reserved per counted intent).
    uniqExactIf(e.intent_id, e.type = 'budget.reserved')                     AS steps,
    uniqExactIf(e.intent_id, e.type = 'intent.proposed')                     AS intents,
    uniqExactIf(e.intent_id, e.type = 'intent.resolved' AND e.status = 'executed') AS executed,
    uniqExactIf(e.intent_id, e.type = 'intent.resolved' AND e.status = 'failed')   AS failed,
    uniqExactIf(e.intent_id, e.type = 'intent.resolved' AND e.status = 'denied')   AS denied,
    uniqExactIf(e.intent_id, e.type = 'intent.resolved' AND e.status = 'rejected') AS rejected,
    uniqExactIf(e.intent_id, e.type = 'intent.resolved' AND e.status = 'in_doubt') AS in_doubt,
    uniqExactIf(e.intent_id, e.type = 'approval.requested')                  AS approvals_requested,
    -- Requested and not (yet) granted, denied or expired.
    toUInt64(greatest(0,
        toInt64(uniqExactIf(e.intent_id, e.type = 'approval.requested'))
        - toInt64(uniqExactIf(e.intent_id,
              e.type IN ('approval.granted', 'approval.denied', 'approval.expired')))))
                                                                             AS approvals_pending,
    -- What budget.settled booked, model and tool calls alike (as run_costs).
    sumIf(e.cost_micro_usd, e.type = 'budget.settled')                       AS cost_micro_usd,
    count()                                                                  AS events
FROM events AS e
WHERE e.run_id != ''
GROUP BY e.env, e.run_id;

-- One row per intent Warden refused (intent.resolved denied or rejected): at which stage, why,
-- and which policies decided it (the ids intent.resolved names, else policy.decided's
-- determining ones: a budget denial after an allow names the policies that allowed it).
CREATE OR REPLACE VIEW run_denials AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    e.intent_id                                                              AS intent_id,
    anyIf(e.tool, e.tool != '')                                              AS tool,
    maxIf(JSONExtractUInt(e.data, 'step'), e.type = 'intent.proposed')       AS step,
    maxOrNullIf(e.occurred_at, e.type = 'intent.resolved')                   AS resolved_at,
    argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS status,
    argMaxIf(e.stage, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')  AS stage,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS reason,
    argMaxIf(JSONExtractString(e.data, 'message'), (e.occurred_at, e.stream_seq),
             e.type = 'intent.resolved')                                     AS message,
    argMaxIf(e.effect, (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS effect,
    if(notEmpty(argMaxIf(JSONExtract(e.data, 'policy_ids', 'Array(String)'),
                         (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')),
       argMaxIf(JSONExtract(e.data, 'policy_ids', 'Array(String)'),
                (e.occurred_at, e.stream_seq), e.type = 'intent.resolved'),
       argMaxIf(JSONExtract(e.data, 'determining_policy_ids', 'Array(String)'),
                (e.occurred_at, e.stream_seq), e.type = 'policy.decided'))   AS policy_ids,
    argMaxIf(JSONExtractUInt(e.data, 'policy_version'), (e.occurred_at, e.stream_seq),
             e.type = 'policy.decided')                                      AS policy_version
FROM events AS e
WHERE e.run_id != '' AND e.intent_id != ''
GROUP BY e.env, e.run_id, e.intent_id
HAVING countIf(e.type = 'intent.resolved' AND e.status IN ('denied', 'rejected')) > 0;
