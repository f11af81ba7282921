import type { KV } from '@nats-io/kv';
import type { Envelope } from '@warden/contracts';
import { casUpdate } from '@warden/messaging';
import {
  advanceHead,
  EMPTY_HEAD,
  HEAD_KEY,
  PolicyHead,
  StoredPolicyVersion,
  storedFromEvent,
  versionKey,
} from './stored-policy.js';

const encoder = new TextEncoder();

/**
 * KV `policies`, a projection of the `policy.published` events: {@link apply} is the one way it is
 * written (by the publish path right after the event, and by the replay at start); applying an
 * event twice changes nothing.
 */
export class PolicyStore {
  constructor(readonly kv: KV) {}

  async apply(event: Envelope<'policy.published'>): Promise<void> {
    const stored = storedFromEvent(event);
    if (stored === undefined) return;
    try {
      await this.kv.create(versionKey(stored.version), encoder.encode(JSON.stringify(stored)));
    } catch {
      // Already there: a version is immutable, the first write stands.
    }
    await casUpdate<PolicyHead>(this.kv, HEAD_KEY, (current) => {
      const head = current ?? EMPTY_HEAD;
      const next = advanceHead(head, stored);
      const same =
        next.active === head.active && next.shadow === head.shadow && next.latest === head.latest;
      return same && current !== undefined ? undefined : next;
    });
  }

  async head(): Promise<PolicyHead> {
    const entry = await this.kv.get(HEAD_KEY);
    if (entry === null || entry.operation !== 'PUT') return EMPTY_HEAD;
    return PolicyHead.parse(entry.json<unknown>());
  }

  async get(version: number): Promise<StoredPolicyVersion | undefined> {
    const entry = await this.kv.get(versionKey(version));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return StoredPolicyVersion.parse(entry.json<unknown>());
  }

  /** Every version, oldest first. */
  async list(): Promise<StoredPolicyVersion[]> {
    const versions: StoredPolicyVersion[] = [];
    for await (const key of await this.kv.keys('version.*')) {
      const stored = await this.get(Number(key.slice('version.'.length)));
      if (stored !== undefined) versions.push(stored);
    }
    return versions.sort((a, b) => a.version - b.version);
  }
}
