-- 0005: tamper evidence for the audit log (issue 9, item 7). After each batch it inserts into
-- `events`, the trace collector appends one checkpoint here: the digest of every row of the batch
-- as the engine computes it (libs/event-store src/checkpoints.ts, ROW_DIGEST), chained to the
-- previous checkpoint's digest and signed with the collector's Ed25519 key. `warden audit verify`
-- recomputes the row digests with the same SQL, the chain and the signatures, and names the first
-- row or checkpoint that does not match.
--
-- The per-row arrays (event ids, types, run ids, times) repeat what `events` holds on purpose: a
-- deleted row can still be named, and a row whose time is past the log's TTL can be told from a
-- deleted one. They are parallel arrays, one element per event id of the batch.

CREATE TABLE IF NOT EXISTS checkpoints
(
    env           LowCardinality(String),
    -- 1, 2, 3, … per env, with no gap: a missing or repeated number breaks the chain.
    seq           UInt64,
    -- `digest` of checkpoint seq - 1 ('' for the first of an env).
    prev_digest   String,
    -- Hex SHA-256 over everything in this row but `signature` (the collector computes it; see
    -- apps/trace-collector src/domain/checkpoint-chain.ts for the exact bytes).
    digest        String,
    event_ids     Array(String),
    types         Array(LowCardinality(String)),
    run_ids       Array(String),
    occurred_ats  Array(DateTime64(6, 'UTC')) CODEC(Delta, ZSTD(1)),
    -- Hex SHA-256 of each event's stored row(s), engine-computed: random, so not compressed.
    row_digests   Array(String) CODEC(NONE),
    -- Which collector key signed: the first 16 hex digits of SHA-256 of its raw public key, as
    -- published in the env's NATS KV bucket `warden_<env>_checkpoint_keys`.
    key_id        LowCardinality(String),
    -- Ed25519 signature of `digest`'s 32 bytes, base64.
    signature     String CODEC(NONE),
    -- The engine's clock right after the batch was inserted (not a DEFAULT: it is signed, and
    -- verification only counts rows of an event stored up to this instant, see ROW_DIGEST).
    created_at    DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (env, seq)
-- The chain is read in order, one env at a time. Checkpoints outlive the rows they cover (events
-- expire 400 days after occurred_at, which precedes created_at) with a month of slack, because
-- `ttl_only_drop_parts` drops an events part up to a month late and a row still stored must
-- still be covered.
TTL toDateTime(created_at) + INTERVAL 430 DAY DELETE
SETTINGS ttl_only_drop_parts = 1;
