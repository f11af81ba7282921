import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import { readLog, type MessagingLogger } from '@warden/messaging';
import type { PolicyStore } from './policies/policy-store.js';
import type { ReleaseStore } from './releases/release-store.js';
import type { ToolStore } from './tools/tool-store.js';

/**
 * Replays `tool.registered`, `policy.published` and `canary.changed` from the env's stream into KV
 * `tools` and `policies`, through the same projections the API path applies (idempotent). At start this
 * repairs a change whose KV write was lost between its publish and the write, and rebuilds an
 * emptied bucket from the log (as far back as the stream keeps events).
 */
export async function replayDecisionLog(
  nc: NatsConnection,
  env: string,
  stores: { tools: ToolStore; policies: PolicyStore; releases: ReleaseStore },
  logger: MessagingLogger,
): Promise<{ tools: number; policies: number; canaries: number; skipped: number }> {
  let skipped = 0;
  const onSkipped = (bad: object) => {
    skipped++;
    logger.warn({ ...bad }, 'replay skipped an invalid event');
  };
  let tools = 0;
  for await (const event of readLog(
    nc,
    env,
    subjects.eventType(env, 'tool.registered'),
    onSkipped,
  )) {
    if (event.type !== 'tool.registered') continue;
    await stores.tools.apply(event);
    tools++;
  }
  let policies = 0;
  for await (const event of readLog(
    nc,
    env,
    subjects.eventType(env, 'policy.published'),
    onSkipped,
  )) {
    if (event.type !== 'policy.published') continue;
    await stores.policies.apply(event);
    policies++;
  }
  let canaries = 0;
  for await (const event of readLog(
    nc,
    env,
    subjects.eventType(env, 'canary.changed'),
    onSkipped,
  )) {
    if (event.type !== 'canary.changed') continue;
    await stores.releases.apply(event);
    canaries++;
  }
  return { tools, policies, canaries, skipped };
}
