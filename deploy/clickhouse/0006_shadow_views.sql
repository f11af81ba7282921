-- 0006: the views `warden policies shadow-report` reads (issue 9 §4, DESIGN §8 "shadow policies"):
-- each shadow policy version's time in force, and one row per intent a shadow version would have
-- decided differently. Plain views over `events`, following 0002's and 0004's conventions
-- (qualified column references, "last" by (occurred_at, stream_seq)); the JSON fields read from
-- `data` follow libs/contracts (policy.published, policy.shadow_diverged).

-- One row per shadow version: when it was published (its evaluation started) and what ended it.
-- The head of the policy service (apps/policy-decision stored-policy.ts advanceHead) only moves
-- through policy.published, and versions are published one after another, so a shadow version is
-- in force from its publication to the publication of the next version: a newer shadow replaces
-- it; an active version with its content (rollback_of = it) promotes it; an active version with
-- the content of the active one (rollback_of = that) stops it; any other active version
-- supersedes it. A version logged twice (a retried insert past deduplication) counts once.
CREATE OR REPLACE VIEW policy_shadow_periods AS
SELECT
    v.env                                                                    AS env,
    v.version                                                                AS shadow_version,
    v.active_version                                                         AS active_version,
    v.published_at                                                           AS started_at,
    v.author                                                                 AS published_by,
    v.message                                                                AS message,
    v.next_at                                                                AS ended_at,
    v.next_version                                                           AS ended_by_version,
    v.next_author                                                            AS ended_by,
    v.next_message                                                           AS ended_message,
    multiIf(v.next_version IS NULL, 'in_force',
            v.next_mode = 'shadow', 'replaced',
            v.next_rollback_of = v.version, 'promoted',
            v.next_rollback_of = v.active_version AND v.active_version > 0, 'stopped',
            'superseded')                                                    AS ended_how
FROM
(
    SELECT
        p.env                                                                AS env,
        p.version                                                            AS version,
        p.mode                                                               AS mode,
        p.published_at                                                       AS published_at,
        p.author                                                             AS author,
        p.message                                                            AS message,
        -- The active version when it was published (0: none).
        ifNull(max(if(p.mode = 'active', toNullable(p.version), NULL))
                   OVER (PARTITION BY p.env ORDER BY p.version
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS active_version,
        -- The next version, which ended it (NULL while none followed).
        any(toNullable(p.version)) OVER w_next                               AS next_version,
        any(toNullable(p.published_at)) OVER w_next                          AS next_at,
        any(toNullable(p.mode)) OVER w_next                                  AS next_mode,
        any(toNullable(p.author)) OVER w_next                                AS next_author,
        any(toNullable(p.message)) OVER w_next                               AS next_message,
        any(toNullable(p.rollback_of)) OVER w_next                           AS next_rollback_of
    FROM
    (
        SELECT
            e.env                                                            AS env,
            JSONExtractUInt(e.data, 'version')                               AS version,
            min(e.occurred_at)                                               AS published_at,
            -- An event without `mode` is an active version (the field is optional).
            if(any(JSONExtractString(e.data, 'mode')) = 'shadow', 'shadow', 'active') AS mode,
            any(JSONExtractString(e.data, 'author'))                         AS author,
            any(JSONExtractString(e.data, 'message'))                        AS message,
            any(JSONExtractUInt(e.data, 'rollback_of'))                      AS rollback_of
        FROM events AS e
        WHERE e.type = 'policy.published'
        GROUP BY e.env, version
    ) AS p
    WINDOW w_next AS (PARTITION BY p.env ORDER BY p.version
                      ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING)
) AS v
WHERE v.mode = 'shadow';

-- One row per intent a shadow version would have decided differently (policy.shadow_diverged),
-- per shadow version: the two effects and the policies that determined each.
CREATE OR REPLACE VIEW shadow_divergences AS
SELECT
    e.env                                                                    AS env,
    JSONExtractUInt(e.data, 'shadow_version')                                AS shadow_version,
    e.run_id                                                                 AS run_id,
    e.intent_id                                                              AS intent_id,
    min(e.occurred_at)                                                       AS occurred_at,
    any(e.agent_id)                                                          AS agent_id,
    any(e.tool)                                                              AS tool,
    any(JSONExtractUInt(e.data, 'step'))                                     AS step,
    any(JSONExtractUInt(e.data, 'active_version'))                           AS active_version,
    any(JSONExtractString(e.data, 'active_effect'))                          AS active_effect,
    any(JSONExtract(e.data, 'active_policy_ids', 'Array(String)'))           AS active_policy_ids,
    any(JSONExtractString(e.data, 'shadow_effect'))                          AS shadow_effect,
    any(JSONExtract(e.data, 'shadow_policy_ids', 'Array(String)'))           AS shadow_policy_ids,
    any(JSONExtract(e.data, 'shadow_errors', 'Array(String)'))               AS shadow_errors
FROM events AS e
WHERE e.type = 'policy.shadow_diverged'
GROUP BY e.env, shadow_version, e.run_id, e.intent_id;
