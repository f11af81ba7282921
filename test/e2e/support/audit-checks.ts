import type { NatsConnection } from '@nats-io/transport-node';
import { auditSql, waitFor } from '@warden/testing';

/** How the stored log of an env looks, per governed call. */
export interface ChainReport {
  rows: number;
  uniqueEventIds: number;
  intents: number;
  /** Intents whose chain is exactly proposed → authenticated → decided → reserved → started → resolved, once each. */
  completeChains: number;
  /** Intents with more or fewer than one `intent.resolved`. */
  notResolvedOnce: number;
  /** Intents with more than one `tool.started` (a re-execution). */
  reExecuted: number;
}

/** Counts, in ClickHouse, what every governed call of the agents `<prefix>-*` left behind. */
export async function chainReport(
  nc: NatsConnection,
  env: string,
  agentPrefix: string,
): Promise<ChainReport> {
  const params = { env, agents: `${agentPrefix}-%` };
  const [totals] = await auditSql(
    nc,
    env,
    'SELECT count() AS rows, uniqExact(event_id) AS ids FROM events WHERE env = {env:String} AND agent_id LIKE {agents:String}',
    params,
  );
  const [chains] = await auditSql(
    nc,
    env,
    `SELECT
       count() AS intents,
       countIf(proposed = 1 AND authenticated = 1 AND decided = 1 AND reserved = 1
               AND started = 1 AND resolved = 1) AS complete,
       countIf(resolved != 1) AS not_resolved_once,
       countIf(started > 1) AS re_executed
     FROM (
       SELECT intent_id,
              countIf(type = 'intent.proposed') AS proposed,
              countIf(type = 'intent.authenticated') AS authenticated,
              countIf(type = 'policy.decided') AS decided,
              countIf(type = 'budget.reserved') AS reserved,
              countIf(type = 'tool.started') AS started,
              countIf(type = 'intent.resolved') AS resolved
       FROM events
       WHERE env = {env:String} AND intent_id != '' AND agent_id LIKE {agents:String}
       GROUP BY intent_id
     )`,
    params,
  );
  return {
    rows: Number(totals?.rows),
    uniqueEventIds: Number(totals?.ids),
    intents: Number(chains?.intents),
    completeChains: Number(chains?.complete),
    notResolvedOnce: Number(chains?.not_resolved_once),
    reExecuted: Number(chains?.re_executed),
  };
}

/** Waits until the collector has stored `resolved` intent.resolved rows of the agents `<prefix>-*`. */
export async function waitForResolvedRows(
  nc: NatsConnection,
  env: string,
  agentPrefix: string,
  resolved: number,
): Promise<void> {
  await waitFor(
    async () => {
      const [row] = await auditSql(
        nc,
        env,
        "SELECT count() AS n FROM events WHERE env = {env:String} AND type = 'intent.resolved' AND agent_id LIKE {agents:String}",
        { env, agents: `${agentPrefix}-%` },
      );
      return Number(row?.n) >= resolved;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `${resolved} intent.resolved rows stored` },
  );
}
