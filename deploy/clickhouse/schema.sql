-- GENERATED: the schema all migrations in this directory add up to, as ClickHouse prints it
-- (SHOW CREATE on chDB). Not a migration and never executed. Do not edit: add a numbered
-- migration, then run WARDEN_UPDATE_SCHEMA=1 npx vitest run --project event-store conformance

CREATE VIEW default.agent_daily_spend
(
    `env` LowCardinality(String),
    `agent_id` LowCardinality(String),
    `day` Date,
    `cost_micro_usd` Int64,
    `settled_calls` UInt64,
    `runs` UInt64
)
AS SELECT
    e.env AS env,
    e.agent_id AS agent_id,
    toDate(e.occurred_at) AS day,
    sum(e.cost_micro_usd) AS cost_micro_usd,
    count() AS settled_calls,
    uniqExact(e.run_id) AS runs
FROM default.events AS e
WHERE e.type = 'budget.settled'
GROUP BY
    e.env,
    e.agent_id,
    day;

CREATE VIEW default.approvals
(
    `env` LowCardinality(String),
    `run_id` String,
    `intent_id` String,
    `agent_id` String,
    `workflow` String,
    `tool` String,
    `args_hash` String,
    `requested_at` Nullable(DateTime64(6, 'UTC')),
    `answered_at` Nullable(DateTime64(6, 'UTC')),
    `outcome` String,
    `approver` String,
    `comment` String,
    `events` UInt64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    e.intent_id AS intent_id,
    anyIf(e.agent_id, e.agent_id != '') AS agent_id,
    anyIf(e.workflow, e.workflow != '') AS workflow,
    anyIf(e.tool, e.tool != '') AS tool,
    anyIf(JSONExtractString(e.data, 'args_hash'), e.type = 'approval.requested') AS args_hash,
    minOrNullIf(e.occurred_at, e.type = 'approval.requested') AS requested_at,
    maxOrNullIf(e.occurred_at, e.type != 'approval.requested') AS answered_at,
    if(countIf(e.type != 'approval.requested') = 0, 'pending', argMaxIf(replaceOne(e.type, 'approval.', ''), (e.occurred_at, e.stream_seq), e.type != 'approval.requested')) AS outcome,
    argMaxIf(JSONExtractString(e.data, 'approver'), (e.occurred_at, e.stream_seq), (e.type IN ('approval.granted', 'approval.denied'))) AS approver,
    argMaxIf(JSONExtractString(e.data, 'comment'), (e.occurred_at, e.stream_seq), (e.type IN ('approval.granted', 'approval.denied'))) AS comment,
    count() AS events
FROM default.events AS e
WHERE e.type IN ('approval.requested', 'approval.granted', 'approval.denied', 'approval.expired')
GROUP BY
    e.env,
    e.run_id,
    e.intent_id;

CREATE TABLE default.checkpoints
(
    `env` LowCardinality(String),
    `seq` UInt64,
    `prev_digest` String,
    `digest` String,
    `event_ids` Array(String),
    `types` Array(LowCardinality(String)),
    `run_ids` Array(String),
    `occurred_ats` Array(DateTime64(6, 'UTC')) CODEC(Delta(8), ZSTD(1)),
    `row_digests` Array(String) CODEC(NONE),
    `key_id` LowCardinality(String),
    `signature` String CODEC(NONE),
    `created_at` DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (env, seq)
TTL toDateTime(created_at) + toIntervalDay(430)
SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192;

CREATE VIEW default.cost_daily
(
    `env` LowCardinality(String),
    `day` Date,
    `agent_id` LowCardinality(String),
    `workflow` LowCardinality(String),
    `cost_micro_usd` Int64,
    `settlements` UInt64,
    `runs` UInt64
)
AS SELECT
    e.env AS env,
    toDate(e.occurred_at) AS day,
    e.agent_id AS agent_id,
    e.workflow AS workflow,
    sum(e.cost_micro_usd) AS cost_micro_usd,
    count() AS settlements,
    uniqExact(e.run_id) AS runs
FROM default.events AS e
WHERE e.type = 'budget.settled'
GROUP BY
    e.env,
    day,
    e.agent_id,
    e.workflow;

CREATE TABLE default.events
(
    `event_id` String,
    `type` LowCardinality(String),
    `env` LowCardinality(String),
    `occurred_at` DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    `stream_seq` UInt64,
    `producer_service` LowCardinality(String),
    `producer_instance` LowCardinality(String),
    `producer_version` LowCardinality(String),
    `run_id` String,
    `intent_id` String,
    `agent_id` LowCardinality(String),
    `workflow` LowCardinality(String),
    `causation_id` String,
    `correlation_id` String,
    `tool` LowCardinality(String),
    `effect` LowCardinality(String),
    `status` LowCardinality(String),
    `stage` LowCardinality(String),
    `reason` LowCardinality(String),
    `cost_micro_usd` Int64,
    `latency_us` UInt64,
    `data` String CODEC(ZSTD(3)),
    `sealed` String CODEC(NONE),
    `redactions` Array(LowCardinality(String)),
    `ingested_at` DateTime64(6, 'UTC') DEFAULT now64(6),
    INDEX idx_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_intent_id intent_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_agent_id agent_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (env, run_id, occurred_at, stream_seq)
TTL toDateTime(occurred_at) + toIntervalDay(400)
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1, index_granularity = 8192;

CREATE VIEW default.halted_runs_by_reason
(
    `env` LowCardinality(String),
    `workflow` String,
    `day` Date,
    `reason` String,
    `runs` UInt64
)
AS SELECT
    r.env AS env,
    r.workflow AS workflow,
    r.day AS day,
    r.halt_reason AS reason,
    count() AS runs
FROM default.run_costs AS r
WHERE r.halt_reason != ''
GROUP BY
    r.env,
    r.workflow,
    r.day,
    r.halt_reason;

CREATE VIEW default.policy_changes
(
    `env` LowCardinality(String),
    `occurred_at` DateTime64(6, 'UTC'),
    `event_id` String,
    `version` UInt64,
    `content_hash` String,
    `author` String,
    `message` String,
    `producer_service` LowCardinality(String),
    `data` String
)
AS SELECT
    e.env AS env,
    e.occurred_at AS occurred_at,
    e.event_id AS event_id,
    JSONExtractUInt(e.data, 'version') AS version,
    JSONExtractString(e.data, 'content_hash') AS content_hash,
    JSONExtractString(e.data, 'author') AS author,
    JSONExtractString(e.data, 'message') AS message,
    e.producer_service AS producer_service,
    e.data AS data
FROM default.events AS e
WHERE e.type = 'policy.published';

CREATE VIEW default.policy_shadow_periods
(
    `env` LowCardinality(String),
    `shadow_version` UInt64,
    `active_version` UInt64,
    `started_at` DateTime64(6, 'UTC'),
    `published_by` String,
    `message` String,
    `ended_at` Nullable(DateTime64(6, 'UTC')),
    `ended_by_version` Nullable(UInt64),
    `ended_by` Nullable(String),
    `ended_message` Nullable(String),
    `ended_how` String
)
AS SELECT
    v.env AS env,
    v.version AS shadow_version,
    v.active_version AS active_version,
    v.published_at AS started_at,
    v.author AS published_by,
    v.message AS message,
    v.next_at AS ended_at,
    v.next_version AS ended_by_version,
    v.next_author AS ended_by,
    v.next_message AS ended_message,
    multiIf(v.next_version IS NULL, 'in_force', v.next_mode = 'shadow', 'replaced', v.next_rollback_of = v.version, 'promoted', (v.next_rollback_of = v.active_version) AND (v.active_version > 0), 'stopped', 'superseded') AS ended_how
FROM
(
    SELECT
        p.env AS env,
        p.version AS version,
        p.mode AS mode,
        p.published_at AS published_at,
        p.author AS author,
        p.message AS message,
        ifNull(max(if(p.mode = 'active', toNullable(p.version), NULL)) OVER (PARTITION BY p.env ORDER BY p.version ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS active_version,
        any(toNullable(p.version)) OVER w_next AS next_version,
        any(toNullable(p.published_at)) OVER w_next AS next_at,
        any(toNullable(p.mode)) OVER w_next AS next_mode,
        any(toNullable(p.author)) OVER w_next AS next_author,
        any(toNullable(p.message)) OVER w_next AS next_message,
        any(toNullable(p.rollback_of)) OVER w_next AS next_rollback_of
    FROM
    (
        SELECT
            e.env AS env,
            JSONExtractUInt(e.data, 'version') AS version,
            min(e.occurred_at) AS published_at,
            if(any(JSONExtractString(e.data, 'mode')) = 'shadow', 'shadow', 'active') AS mode,
            any(JSONExtractString(e.data, 'author')) AS author,
            any(JSONExtractString(e.data, 'message')) AS message,
            any(JSONExtractUInt(e.data, 'rollback_of')) AS rollback_of
        FROM default.events AS e
        WHERE e.type = 'policy.published'
        GROUP BY
            e.env,
            version
    ) AS p
    WINDOW w_next AS (PARTITION BY p.env ORDER BY p.version ASC ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING)
) AS v
WHERE v.mode = 'shadow';

CREATE VIEW default.run_costs
(
    `env` LowCardinality(String),
    `run_id` String,
    `agent_id` String,
    `workflow` String,
    `day` Date,
    `status` String,
    `halt_reason` String,
    `steps` UInt64,
    `settled_calls` UInt64,
    `cost_micro_usd` Int64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    anyIf(e.agent_id, e.agent_id != '') AS agent_id,
    if(countIf(e.workflow != '') > 0, anyIf(e.workflow, e.workflow != ''), anyIf(JSONExtractString(e.data, 'workflow'), e.type = 'run.started')) AS workflow,
    toDate(coalesce(minOrNullIf(e.occurred_at, e.type = 'run.started'), min(e.occurred_at))) AS day,
    multiIf(countIf(e.type = 'run.ended') > 0, if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended', argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')), countIf(e.type = 'run.halted') > 0, 'halted', 'active') AS status,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    uniqExactIf(e.intent_id, e.type = 'budget.reserved') AS steps,
    countIf(e.type = 'budget.settled') AS settled_calls,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled') AS cost_micro_usd
FROM default.events AS e
WHERE e.run_id != ''
GROUP BY
    e.env,
    e.run_id;

CREATE VIEW default.run_denials
(
    `env` LowCardinality(String),
    `run_id` String,
    `intent_id` String,
    `tool` String,
    `step` UInt64,
    `resolved_at` Nullable(DateTime64(6, 'UTC')),
    `status` String,
    `stage` String,
    `reason` String,
    `message` String,
    `effect` String,
    `policy_ids` Array(String),
    `policy_version` UInt64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    e.intent_id AS intent_id,
    anyIf(e.tool, e.tool != '') AS tool,
    maxIf(JSONExtractUInt(e.data, 'step'), e.type = 'intent.proposed') AS step,
    maxOrNullIf(e.occurred_at, e.type = 'intent.resolved') AS resolved_at,
    argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS status,
    argMaxIf(e.stage, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS stage,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS reason,
    argMaxIf(JSONExtractString(e.data, 'message'), (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS message,
    argMaxIf(e.effect, (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS effect,
    if(notEmpty(argMaxIf(JSONExtract(e.data, 'policy_ids', 'Array(String)'), (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')), argMaxIf(JSONExtract(e.data, 'policy_ids', 'Array(String)'), (e.occurred_at, e.stream_seq), e.type = 'intent.resolved'), argMaxIf(JSONExtract(e.data, 'determining_policy_ids', 'Array(String)'), (e.occurred_at, e.stream_seq), e.type = 'policy.decided')) AS policy_ids,
    argMaxIf(JSONExtractUInt(e.data, 'policy_version'), (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS policy_version
FROM default.events AS e
WHERE (e.run_id != '') AND (e.intent_id != '')
GROUP BY
    e.env,
    e.run_id,
    e.intent_id
HAVING countIf((e.type = 'intent.resolved') AND (e.status IN ('denied', 'rejected'))) > 0;

CREATE VIEW default.run_overview
(
    `env` LowCardinality(String),
    `run_id` String,
    `agent_id` String,
    `workflow` String,
    `started_at` DateTime64(6, 'UTC'),
    `last_at` DateTime64(6, 'UTC'),
    `ended_at` Nullable(DateTime64(6, 'UTC')),
    `status` String,
    `outcome` String,
    `halted_at` Nullable(DateTime64(6, 'UTC')),
    `halt_reason` String,
    `halt_message` String,
    `halted_by` String,
    `declared_limits` String,
    `max_steps` UInt64,
    `steps` UInt64,
    `intents` UInt64,
    `executed` UInt64,
    `failed` UInt64,
    `denied` UInt64,
    `rejected` UInt64,
    `in_doubt` UInt64,
    `approvals_requested` UInt64,
    `approvals_pending` UInt64,
    `cost_micro_usd` Int64,
    `events` UInt64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    anyIf(e.agent_id, e.agent_id != '') AS agent_id,
    if(countIf(e.workflow != '') > 0, anyIf(e.workflow, e.workflow != ''), anyIf(JSONExtractString(e.data, 'workflow'), e.type = 'run.started')) AS workflow,
    coalesce(minOrNullIf(e.occurred_at, e.type = 'run.started'), min(e.occurred_at)) AS started_at,
    max(e.occurred_at) AS last_at,
    maxOrNullIf(e.occurred_at, e.type = 'run.ended') AS ended_at,
    multiIf(countIf(e.type = 'run.ended') > 0, if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended', argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')), countIf(e.type = 'run.halted') > 0, 'halted', 'running') AS status,
    argMaxIf(JSONExtractString(e.data, 'outcome'), (e.occurred_at, e.stream_seq), e.type = 'run.ended') AS outcome,
    maxOrNullIf(e.occurred_at, e.type = 'run.halted') AS halted_at,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    argMaxIf(JSONExtractString(e.data, 'message'), (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_message,
    argMaxIf(JSONExtractString(e.data, 'by'), (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halted_by,
    anyIf(JSONExtractRaw(e.data, 'limits'), e.type = 'run.started') AS declared_limits,
    argMaxIf(JSONExtractUInt(e.data, 'max_steps'), (e.occurred_at, e.stream_seq), e.type = 'budget.reserved') AS max_steps,
    uniqExactIf(e.intent_id, e.type = 'budget.reserved') AS steps,
    uniqExactIf(e.intent_id, e.type = 'intent.proposed') AS intents,
    uniqExactIf(e.intent_id, (e.type = 'intent.resolved') AND (e.status = 'executed')) AS executed,
    uniqExactIf(e.intent_id, (e.type = 'intent.resolved') AND (e.status = 'failed')) AS failed,
    uniqExactIf(e.intent_id, (e.type = 'intent.resolved') AND (e.status = 'denied')) AS denied,
    uniqExactIf(e.intent_id, (e.type = 'intent.resolved') AND (e.status = 'rejected')) AS rejected,
    uniqExactIf(e.intent_id, (e.type = 'intent.resolved') AND (e.status = 'in_doubt')) AS in_doubt,
    uniqExactIf(e.intent_id, e.type = 'approval.requested') AS approvals_requested,
    toUInt64(greatest(0, toInt64(uniqExactIf(e.intent_id, e.type = 'approval.requested')) - toInt64(uniqExactIf(e.intent_id, (e.type IN ('approval.granted', 'approval.denied', 'approval.expired')))))) AS approvals_pending,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled') AS cost_micro_usd,
    count() AS events
FROM default.events AS e
WHERE e.run_id != ''
GROUP BY
    e.env,
    e.run_id;

CREATE VIEW default.runs
(
    `env` LowCardinality(String),
    `run_id` String,
    `agent_id` String,
    `workflow` String,
    `first_at` DateTime64(6, 'UTC'),
    `last_at` DateTime64(6, 'UTC'),
    `started_at` Nullable(DateTime64(6, 'UTC')),
    `ended_at` Nullable(DateTime64(6, 'UTC')),
    `status` String,
    `halt_reason` String,
    `intents` UInt64,
    `executed` UInt64,
    `failed` UInt64,
    `denied` UInt64,
    `rejected` UInt64,
    `in_doubt` UInt64,
    `approvals_requested` UInt64,
    `cost_micro_usd` Int64,
    `events` UInt64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    anyIf(e.agent_id, e.agent_id != '') AS agent_id,
    anyIf(e.workflow, e.workflow != '') AS workflow,
    min(e.occurred_at) AS first_at,
    max(e.occurred_at) AS last_at,
    minOrNullIf(e.occurred_at, e.type = 'run.started') AS started_at,
    maxOrNullIf(e.occurred_at, (e.type IN ('run.ended', 'run.halted'))) AS ended_at,
    multiIf(countIf(e.type = 'run.halted') > 0, 'halted', countIf(e.type = 'run.ended') > 0, if(argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended') = '', 'ended', argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'run.ended')), 'active') AS status,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'run.halted') AS halt_reason,
    uniqExactIf(e.intent_id, e.type = 'intent.proposed') AS intents,
    countIf((e.type = 'intent.resolved') AND (e.status = 'executed')) AS executed,
    countIf((e.type = 'intent.resolved') AND (e.status = 'failed')) AS failed,
    countIf((e.type = 'intent.resolved') AND (e.status = 'denied')) AS denied,
    countIf((e.type = 'intent.resolved') AND (e.status = 'rejected')) AS rejected,
    countIf((e.type = 'intent.resolved') AND (e.status = 'in_doubt')) AS in_doubt,
    countIf(e.type = 'approval.requested') AS approvals_requested,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled') AS cost_micro_usd,
    count() AS events
FROM default.events AS e
WHERE e.run_id != ''
GROUP BY
    e.env,
    e.run_id;

CREATE TABLE default.schema_migrations
(
    `version` UInt32,
    `name` String,
    `checksum` String,
    `applied_at` DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY version
SETTINGS index_granularity = 8192;

CREATE VIEW default.shadow_divergences
(
    `env` LowCardinality(String),
    `shadow_version` UInt64,
    `run_id` String,
    `intent_id` String,
    `occurred_at` DateTime64(6, 'UTC'),
    `agent_id` String,
    `tool` String,
    `step` UInt64,
    `active_version` UInt64,
    `active_effect` String,
    `active_policy_ids` Array(String),
    `shadow_effect` String,
    `shadow_policy_ids` Array(String),
    `shadow_errors` Array(String)
)
AS SELECT
    e.env AS env,
    JSONExtractUInt(e.data, 'shadow_version') AS shadow_version,
    e.run_id AS run_id,
    e.intent_id AS intent_id,
    min(e.occurred_at) AS occurred_at,
    any(e.agent_id) AS agent_id,
    any(e.tool) AS tool,
    any(JSONExtractUInt(e.data, 'step')) AS step,
    any(JSONExtractUInt(e.data, 'active_version')) AS active_version,
    any(JSONExtractString(e.data, 'active_effect')) AS active_effect,
    any(JSONExtract(e.data, 'active_policy_ids', 'Array(String)')) AS active_policy_ids,
    any(JSONExtractString(e.data, 'shadow_effect')) AS shadow_effect,
    any(JSONExtract(e.data, 'shadow_policy_ids', 'Array(String)')) AS shadow_policy_ids,
    any(JSONExtract(e.data, 'shadow_errors', 'Array(String)')) AS shadow_errors
FROM default.events AS e
WHERE e.type = 'policy.shadow_diverged'
GROUP BY
    e.env,
    shadow_version,
    e.run_id,
    e.intent_id;

CREATE VIEW default.tool_calls
(
    `env` LowCardinality(String),
    `run_id` String,
    `intent_id` String,
    `agent_id` String,
    `workflow` String,
    `tool` String,
    `first_at` DateTime64(6, 'UTC'),
    `last_at` DateTime64(6, 'UTC'),
    `proposed_at` Nullable(DateTime64(6, 'UTC')),
    `resolved_at` Nullable(DateTime64(6, 'UTC')),
    `effect` String,
    `approval` String,
    `approver` String,
    `status` String,
    `stage` String,
    `reason` String,
    `attempts` UInt64,
    `reserved_micro_usd` Int64,
    `cost_micro_usd` Int64,
    `latency_us` UInt64,
    `end_to_end_us` Nullable(Int64),
    `events` UInt64
)
AS SELECT
    e.env AS env,
    e.run_id AS run_id,
    e.intent_id AS intent_id,
    anyIf(e.agent_id, e.agent_id != '') AS agent_id,
    anyIf(e.workflow, e.workflow != '') AS workflow,
    anyIf(e.tool, e.tool != '') AS tool,
    min(e.occurred_at) AS first_at,
    max(e.occurred_at) AS last_at,
    minOrNullIf(e.occurred_at, e.type = 'intent.proposed') AS proposed_at,
    maxOrNullIf(e.occurred_at, e.type = 'intent.resolved') AS resolved_at,
    argMaxIf(e.effect, (e.occurred_at, e.stream_seq), e.type = 'policy.decided') AS effect,
    multiIf(countIf((e.type IN ('approval.granted', 'approval.denied', 'approval.expired'))) > 0, argMaxIf(replaceOne(e.type, 'approval.', ''), (e.occurred_at, e.stream_seq), (e.type IN ('approval.granted', 'approval.denied', 'approval.expired'))), countIf(e.type = 'approval.requested') > 0, 'pending', '') AS approval,
    argMaxIf(JSONExtractString(e.data, 'approver'), (e.occurred_at, e.stream_seq), (e.type IN ('approval.granted', 'approval.denied'))) AS approver,
    if(countIf(e.type = 'intent.resolved') = 0, 'pending', argMaxIf(e.status, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved')) AS status,
    argMaxIf(e.stage, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS stage,
    argMaxIf(e.reason, (e.occurred_at, e.stream_seq), e.type = 'intent.resolved') AS reason,
    countIf(e.type = 'tool.started') AS attempts,
    sumIf(e.cost_micro_usd, e.type = 'budget.reserved') AS reserved_micro_usd,
    sumIf(e.cost_micro_usd, e.type = 'budget.settled') AS cost_micro_usd,
    maxIf(e.latency_us, e.type = 'intent.resolved') AS latency_us,
    toUnixTimestamp64Micro(resolved_at) - toUnixTimestamp64Micro(proposed_at) AS end_to_end_us,
    count() AS events
FROM default.events AS e
WHERE e.intent_id != ''
GROUP BY
    e.env,
    e.run_id,
    e.intent_id;

CREATE VIEW default.workflow_daily_costs
(
    `env` LowCardinality(String),
    `workflow` String,
    `day` Date,
    `runs` UInt64,
    `succeeded_runs` UInt64,
    `cost_micro_usd` Int64,
    `cost_per_successful_run_micro_usd` Nullable(Int64)
)
AS SELECT
    r.env AS env,
    r.workflow AS workflow,
    r.day AS day,
    count() AS runs,
    countIf(r.status = 'succeeded') AS succeeded_runs,
    sum(r.cost_micro_usd) AS cost_micro_usd,
    if(countIf(r.status = 'succeeded') = 0, NULL, intDivOrZero(sum(r.cost_micro_usd), countIf(r.status = 'succeeded'))) AS cost_per_successful_run_micro_usd
FROM default.run_costs AS r
GROUP BY
    r.env,
    r.workflow,
    r.day;
