-- 0001: the append-only audit log (DESIGN §7). One row per event, as the trace collector writes it.
--
-- Rules for every migration file in this directory:
--   * statements are separated by a line that ends with `;` and the runner executes them one by
--     one (ClickHouse runs one statement per request over HTTP);
--   * ClickHouse DDL is not transactional, so every statement must be idempotent
--     (`IF NOT EXISTS`, `CREATE OR REPLACE VIEW`): a migration interrupted half-way is re-run whole;
--   * an applied file is never edited: the runner records its checksum in `schema_migrations` and
--     refuses to start when it changed. Add a new numbered file instead.
--   * the SQL runs unchanged on chDB (embedded) and on a ClickHouse server (>= 24.8).

CREATE TABLE IF NOT EXISTS events
(
    event_id          String,
    type              LowCardinality(String),
    env               LowCardinality(String),
    -- RFC 3339 µs from the envelope. The column carries its time zone so that it reads back in
    -- UTC whatever the server's or session's time zone is.
    occurred_at       DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    -- JetStream stream sequence of the message (0 when unknown): orders events that share a µs.
    stream_seq        UInt64,
    producer_service  LowCardinality(String),
    producer_instance LowCardinality(String),
    producer_version  LowCardinality(String),
    run_id            String,
    intent_id         String,
    agent_id          LowCardinality(String),
    workflow          LowCardinality(String),
    causation_id      String,
    correlation_id    String,
    tool              LowCardinality(String),
    effect            LowCardinality(String),
    status            LowCardinality(String),
    stage             LowCardinality(String),
    reason            LowCardinality(String),
    cost_micro_usd    Int64,
    latency_us        UInt64,
    -- Redacted JSON of the event's `data`: the bulk of each row, and very repetitive.
    data              String CODEC(ZSTD(3)),
    -- AES-256-GCM sealed raw payload (empty until sealing ships): random bytes, so compression
    -- would only cost CPU.
    sealed            String CODEC(NONE),
    redactions        Array(LowCardinality(String)),
    ingested_at       DateTime64(6, 'UTC') DEFAULT now64(6),

    -- Skip indexes for the lookups that do not follow the sorting key. bloom_filter answers
    -- `=` and `IN`; GRANULARITY 1 keeps one filter per 8192-row granule, so a miss skips it.
    INDEX idx_event_id  event_id  TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_intent_id intent_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_agent_id  agent_id  TYPE bloom_filter(0.01) GRANULARITY 4
)
-- MergeTree on one node (chDB, a single server). A cluster uses ReplicatedMergeTree with the same
-- columns and keys; ClickHouse Cloud converts MergeTree to SharedMergeTree by itself.
ENGINE = MergeTree
-- One partition per month: TTL drops whole months and a time-window query prunes partitions.
PARTITION BY toYYYYMM(occurred_at)
-- The question asked most is one run's timeline (DESIGN §7): a run's events are contiguous and
-- already in timeline order. Events without a run (policy.published, key rotations) share
-- run_id = '' per env.
ORDER BY (env, run_id, occurred_at, stream_seq)
-- Retention: 400 days keeps a full year of audit history (a twelve-month audit period, SOC 2
-- Type II style, plus year-over-year comparison) with a month of slack for the audit to run.
-- ttl_only_drop_parts: a part is deleted when all its rows have expired, never rewritten;
-- with monthly partitions that is at most one month late and costs no merge I/O.
TTL toDateTime(occurred_at) + INTERVAL 400 DAY DELETE
SETTINGS
    -- insert_deduplication_token only works on a non-replicated table when this window is set:
    -- the hashes of the last N inserted blocks are kept and a retried batch (same token) is
    -- dropped. 10000 mirrors replicated_deduplication_window's default.
    non_replicated_deduplication_window = 10000,
    ttl_only_drop_parts = 1;
