-- 0002: the views analysts query (DESIGN §7). Plain views: computed from `events` when read, so
-- they are always consistent with the log and need no backfill when they change (a new migration
-- replaces them).
--
-- Conventions:
--   * column references inside expressions are qualified (`e.status`): ClickHouse lets a SELECT
--     alias shadow a column of the same name everywhere in the query, so `sumIf(cost_micro_usd, …)
--     AS cost_micro_usd` next to another `sumIf(cost_micro_usd, …)` would nest aggregates
--     (ILLEGAL_AGGREGATION); a qualified name always means the column;
--   * grouped views group by (env, run_id, …): a filter on those columns is pushed below the
--     aggregation and reads one run's range of the sorting key instead of the whole table;
--   * "last" means last by (occurred_at, stream_seq), the timeline order;
--   * times that may be missing are Nullable (NULL, not 1970-01-01); texts that may be missing are ''.
--   * the JSON fields read from `data` follow libs/contracts (approval.*, policy.published).

-- One row per intent (DESIGN §2): what was asked, what policy said, who approved, how it ended,
-- what it cost.
CREATE OR REPLACE VIEW tool_calls AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    e.intent_id                                                              AS intent_id,
    anyIf(e.agent_id, e.agent_id != '')                                      AS agent_id,
    anyIf(e.workflow, e.workflow != '')                                      AS workflow,
    anyIf(e.tool, e.tool != '')                                              AS tool,
    min(e.occurred_at)                                                       AS first_at,
    max(e.occurred_at)                                                       AS last_at,
    minOrNullIf(e.occurred_at, e.type = 'intent.proposed')                   AS proposed_at,
    maxOrNullIf(e.occurred_at, e.type = 'intent.resolved')                   AS resolved_at,
    -- Policy's answer: allow, deny, approval_required ('' if policy never decided).
    argMaxIf(e.effect, (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS effect,
    -- '' (none needed), pending, granted, denied, expired.
    multiIf(
        countIf(e.type IN ('approval.granted', 'approval.denied', 'approval.expired')) > 0,
        argMaxIf(replaceOne(e.type, 'approval.', ''), (e.occurred_at, e.stream_seq),
                 e.type IN ('approval.granted', 'approval.denied', 'approval.expired')),
        countIf(e.type = 'approval.requested') > 0, 'pending',
        '')                                                                  AS approval,
    argMaxIf(JSONExtractString(e.data, 'approver'), (e.occurred_at, e.stream_seq),
             e.type IN ('approval.granted', 'approval.denied'))             AS approver,
    -- intent.resolved's status: executed, failed, denied, rejected, in_doubt; pending until then.
    if(countIf(e.type = 'intent.resolved') = 0, 'pending',
       argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')) AS status,
    argMaxIf(e.stage, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')  AS stage,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS reason,
    countIf(e.type = 'tool.started')                                         AS attempts,
    sumIf(e.cost_micro_usd, e.type = 'budget.reserved')                      AS reserved_micro_usd,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled')                       AS cost_micro_usd,
    -- The executor's measured tool latency, as reported on intent.resolved.
    maxIf(e.latency_us, e.type = 'intent.resolved')                          AS latency_us,
    -- Proposed to resolved, across every stage (NULL while pending).
    toUnixTimestamp64Micro(resolved_at) - toUnixTimestamp64Micro(proposed_at) AS end_to_end_us,
    count()                                                                  AS events
FROM events AS e
WHERE e.intent_id != ''
GROUP BY e.env, e.run_id, e.intent_id;

-- One row per run.
CREATE OR REPLACE VIEW runs AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    anyIf(e.agent_id, e.agent_id != '')                                      AS agent_id,
    anyIf(e.workflow, e.workflow != '')                                      AS workflow,
    min(e.occurred_at)                                                       AS first_at,
    max(e.occurred_at)                                                       AS last_at,
    minOrNullIf(e.occurred_at, e.type = 'run.started')                       AS started_at,
    maxOrNullIf(e.occurred_at, e.type IN ('run.ended', 'run.halted'))        AS ended_at,
    -- halted (Warden stopped it), the agent's own run.ended status (succeeded, failed,
    -- cancelled), or active.
    multiIf(
        countIf(e.type = 'run.halted') > 0, 'halted',
        countIf(e.type = 'run.ended') > 0,
        if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended',
           argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')),
        'active')                                                            AS status,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    uniqExactIf(e.intent_id, e.type = 'intent.proposed')                     AS intents,
    countIf(e.type = 'intent.resolved' AND e.status = 'executed')            AS executed,
    countIf(e.type = 'intent.resolved' AND e.status = 'failed')              AS failed,
    countIf(e.type = 'intent.resolved' AND e.status = 'denied')              AS denied,
    countIf(e.type = 'intent.resolved' AND e.status = 'rejected')            AS rejected,
    countIf(e.type = 'intent.resolved' AND e.status = 'in_doubt')            AS in_doubt,
    countIf(e.type = 'approval.requested')                                   AS approvals_requested,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled')                       AS cost_micro_usd,
    count()                                                                  AS events
FROM events AS e
WHERE e.run_id != ''
GROUP BY e.env, e.run_id;

-- One row per approval request: who answered, how and when ("who approved what").
CREATE OR REPLACE VIEW approvals AS
SELECT
    e.env                                                                    AS env,
    e.run_id                                                                 AS run_id,
    e.intent_id                                                              AS intent_id,
    anyIf(e.agent_id, e.agent_id != '')                                      AS agent_id,
    anyIf(e.workflow, e.workflow != '')                                      AS workflow,
    anyIf(e.tool, e.tool != '')                                              AS tool,
    anyIf(JSONExtractString(e.data, 'args_hash'), e.type = 'approval.requested') AS args_hash,
    minOrNullIf(e.occurred_at, e.type = 'approval.requested')                AS requested_at,
    maxOrNullIf(e.occurred_at, e.type != 'approval.requested')               AS answered_at,
    -- pending, granted, denied, expired.
    if(countIf(e.type != 'approval.requested') = 0, 'pending',
       argMaxIf(replaceOne(e.type, 'approval.', ''), (e.occurred_at, e.stream_seq),
                e.type != 'approval.requested'))                             AS outcome,
    argMaxIf(JSONExtractString(e.data, 'approver'), (e.occurred_at, e.stream_seq),
             e.type IN ('approval.granted', 'approval.denied'))             AS approver,
    argMaxIf(JSONExtractString(e.data, 'comment'), (e.occurred_at, e.stream_seq),
             e.type IN ('approval.granted', 'approval.denied'))             AS comment,
    count()                                                                  AS events
FROM events AS e
WHERE e.type IN ('approval.requested', 'approval.granted', 'approval.denied', 'approval.expired')
GROUP BY e.env, e.run_id, e.intent_id;

-- Every published policy version, newest last.
CREATE OR REPLACE VIEW policy_changes AS
SELECT
    e.env                                                                    AS env,
    e.occurred_at                                                            AS occurred_at,
    e.event_id                                                               AS event_id,
    JSONExtractUInt(e.data, 'version')                                       AS version,
    JSONExtractString(e.data, 'content_hash')                                AS content_hash,
    JSONExtractString(e.data, 'author')                                      AS author,
    JSONExtractString(e.data, 'message')                                     AS message,
    e.producer_service                                                       AS producer_service,
    e.data                                                                   AS data
FROM events AS e
WHERE e.type = 'policy.published';

-- Booked cost per UTC day, agent and workflow (budget.settled covers model and tool calls alike;
-- per-tool cost is in tool_calls).
CREATE OR REPLACE VIEW cost_daily AS
SELECT
    e.env                                                                    AS env,
    toDate(e.occurred_at)                                                    AS day,
    e.agent_id                                                               AS agent_id,
    e.workflow                                                               AS workflow,
    sum(e.cost_micro_usd)                                                    AS cost_micro_usd,
    count()                                                                  AS settlements,
    uniqExact(e.run_id)                                                      AS runs
FROM events AS e
WHERE e.type = 'budget.settled'
GROUP BY e.env, day, e.agent_id, e.workflow;
