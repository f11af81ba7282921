import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Ulid } from '../ids.js';
import { Actor, SubjectToken } from './common.js';
import { PolicyVersion } from './decision.js';

/**
 * The version of what drives a run — its prompt, model, tool schema — as its team labels a
 * release (`v2`, `2026-11-27.1`, `gpt-4o-prompt-7`).
 */
export const ReleaseVersion = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  error: 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
});
export type ReleaseVersion = z.infer<typeof ReleaseVersion>;

/** Which side of a canary a run is on. */
export const CanaryArm = z.enum(['baseline', 'canary']);
export type CanaryArm = z.infer<typeof CanaryArm>;

/** A run's place in a canary: which one, and which side. */
export const RunCanary = z.strictObject({ id: Ulid, arm: CanaryArm });
export type RunCanary = z.infer<typeof RunCanary>;

/** The share of new runs a canary gives its version: a percentage with at most two decimals. */
export const CanaryPercent = z
  .number()
  .gt(0)
  .lt(100)
  .refine(hasTwoDecimals, { error: 'must have at most two decimals' });

function hasTwoDecimals(value: number): boolean {
  return Math.abs(value * 100 - Math.round(value * 100)) < 1e-9;
}

/**
 * `canary.changed`: a canary of a workflow started, was promoted or was aborted. One event type for
 * all three so changes to canaries are published in turn on one subject. Each event describes the
 * whole canary: a share (`percent`) of the workflow's new runs gets `version` and, with
 * `policy_version`, is decided under that stored policy version instead of the active one; the
 * other runs keep the baseline. A promoted version becomes the workflow's release (every new run
 * gets it); a promoted policy version was activated as `activated_policy_version`.
 */
export const CanaryChanged = z.strictObject({
  change: z.enum(['started', 'promoted', 'aborted']),
  workflow: SubjectToken,
  canary_id: Ulid,
  version: ReleaseVersion,
  /** The release the other runs keep: the workflow's promoted release, if it has one. */
  baseline: ReleaseVersion.optional(),
  percent: CanaryPercent,
  policy_version: PolicyVersion.optional(),
  /** For a promotion with a policy: the active policy version it published. */
  activated_policy_version: PolicyVersion.optional(),
  by: Actor,
  reason: z.string().min(1).max(2048).optional(),
});
export type CanaryChanged = z.infer<typeof CanaryChanged>;

/** Buckets of the assignment: a percentage with two decimals picks `percent × 100` of them. */
const BUCKETS = 10_000;

/**
 * The arm of run `runId` in canary `canaryId`: a hash of both, so the answer is the same every
 * time it is asked (sticky per run, with no state), independent between canaries, and uniform
 * over run ids: `percent` of runs land on the canary.
 */
export function canaryArm(canaryId: string, runId: string, percent: number): CanaryArm {
  const digest = createHash('sha256').update(`${canaryId}\u0000${runId}`).digest();
  const bucket = digest.readUInt32BE(0) % BUCKETS;
  return bucket < Math.round(percent * 100) ? 'canary' : 'baseline';
}
