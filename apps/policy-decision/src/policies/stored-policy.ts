import { PolicyVersion, PolicyVersionView, type Envelope } from '@warden/contracts';
import { z } from 'zod';

/**
 * KV `policies`: `version.<n>` holds each published version (immutable), `head` which versions
 * are in force. Both are projections of `policy.published` events.
 */
export const StoredPolicyVersion = PolicyVersionView.extend({ event_id: z.string() });
export type StoredPolicyVersion = z.infer<typeof StoredPolicyVersion>;

/** Which versions are in force: the active one (0: none, deny everything), the shadow one. */
export const PolicyHead = z.strictObject({
  active: PolicyVersion,
  shadow: PolicyVersion.optional(),
  latest: PolicyVersion,
});
export type PolicyHead = z.infer<typeof PolicyHead>;

export const HEAD_KEY = 'head';
export const versionKey = (version: number) => `version.${version}`;
export const EMPTY_HEAD: PolicyHead = { active: 0, latest: 0 };

/** The stored form of a `policy.published` event; `undefined` for an event without its content. */
export function storedFromEvent(
  event: Envelope<'policy.published'>,
): StoredPolicyVersion | undefined {
  const { data } = event;
  if (data.schema === undefined || data.files === undefined) return undefined;
  return {
    version: data.version,
    mode: data.mode ?? 'active',
    content_hash: data.content_hash,
    author: data.author,
    ...(data.message === undefined ? {} : { message: data.message }),
    published_at: event.occurred_at,
    ...(data.rollback_of === undefined ? {} : { rollback_of: data.rollback_of }),
    policy_ids: data.policy_ids ?? [],
    schema: data.schema,
    files: data.files,
    event_id: event.event_id,
  };
}

/** The head after version `stored` was published on top of `head`. */
export function advanceHead(
  head: PolicyHead,
  stored: Pick<StoredPolicyVersion, 'version' | 'mode'>,
): PolicyHead {
  const { version, mode } = stored;
  const latest = Math.max(head.latest, version);
  if (mode === 'active') {
    if (version <= head.active) return { ...head, latest };
    // A newer active version supersedes a shadow published before it.
    const shadow = head.shadow !== undefined && head.shadow > version ? head.shadow : undefined;
    return { active: version, latest, ...(shadow === undefined ? {} : { shadow }) };
  }
  if (version <= head.active || (head.shadow !== undefined && version <= head.shadow)) {
    return { ...head, latest };
  }
  return { ...head, shadow: version, latest };
}
