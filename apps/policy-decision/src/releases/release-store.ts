import type { KV } from '@nats-io/kv';
import { canaryViewOf, CanaryView, ReleaseView, type Envelope } from '@warden/contracts';

const encoder = new TextEncoder();

/** KV `releases` key of a workflow's canary in force. */
export const canaryKey = (workflow: string) => `canary.${workflow}`;
/** KV `releases` key of a workflow's promoted release. */
export const releaseKey = (workflow: string) => `release.${workflow}`;

/**
 * The canaries in force and the promoted releases (KV `releases`, a bucket of their own so a watch
 * of it sees every write): a projection of the `canary.changed` events, which {@link apply} is the one way to write. Applied
 * in log order (the replay at start, or a change right after its publish) it ends where the log
 * does; applying an event again changes nothing.
 */
export class ReleaseStore {
  constructor(readonly kv: KV) {}

  async apply(event: Envelope<'canary.changed'>): Promise<void> {
    const { data } = event;
    const key = canaryKey(data.workflow);
    if (data.change === 'started') {
      if ((await this.canary(data.workflow))?.canary_id !== data.canary_id) {
        await this.kv.put(
          key,
          encoder.encode(JSON.stringify(canaryViewOf(data, event.occurred_at))),
        );
      }
      return;
    }
    // Only the canary the event names ends: a replay of an old ending leaves a newer one alone.
    if ((await this.canary(data.workflow))?.canary_id === data.canary_id) await this.kv.delete(key);
    if (data.change === 'promoted') {
      const release: ReleaseView = {
        workflow: data.workflow,
        version: data.version,
        canary_id: data.canary_id,
        promoted_at: event.occurred_at,
        promoted_by: data.by,
      };
      await this.kv.put(releaseKey(data.workflow), encoder.encode(JSON.stringify(release)));
    }
  }

  async canary(workflow: string): Promise<CanaryView | undefined> {
    const entry = await this.kv.get(canaryKey(workflow));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return CanaryView.parse(entry.json<unknown>());
  }

  async release(workflow: string): Promise<ReleaseView | undefined> {
    const entry = await this.kv.get(releaseKey(workflow));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return ReleaseView.parse(entry.json<unknown>());
  }

  async list(): Promise<{ canaries: CanaryView[]; releases: ReleaseView[] }> {
    const canaries: CanaryView[] = [];
    const releases: ReleaseView[] = [];
    for await (const key of await this.kv.keys()) {
      const [kind, workflow] = key.split('.', 2);
      if (workflow === undefined) continue;
      if (kind === 'canary') {
        const canary = await this.canary(workflow);
        if (canary !== undefined) canaries.push(canary);
      } else if (kind === 'release') {
        const release = await this.release(workflow);
        if (release !== undefined) releases.push(release);
      }
    }
    const byWorkflow = (a: { workflow: string }, b: { workflow: string }) =>
      a.workflow.localeCompare(b.workflow);
    return { canaries: canaries.sort(byWorkflow), releases: releases.sort(byWorkflow) };
  }
}
