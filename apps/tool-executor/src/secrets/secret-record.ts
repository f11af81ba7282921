import { SecretRef, Timestamp, type SecretView } from '@warden/contracts';
import { z } from 'zod';

/*
 * A secret as the `secrets` KV bucket holds it (key: the ref). Only metadata is in clear: each
 * value is sealed (secret-seal.ts) and bound to `<env>:<ref>:<version>`.
 */

const Sealed = z.strictObject({
  iv: z.string().min(1),
  ciphertext: z.string().min(1),
  tag: z.string().min(1),
});

const Version = z.number().int().positive();

/** The stored record, parsed whenever it is read (a bucket is not trusted to hold what we wrote). */
export const StoredSecret = z.strictObject({
  ref: SecretRef,
  version: Version,
  current: Sealed,
  /** The value before the last rotation, sealed under its own version, until the next one. */
  previous: Sealed.extend({ version: Version }).optional(),
  set_by: z.string().min(1),
  set_at: Timestamp,
  rotated_at: Timestamp.optional(),
});
export type StoredSecret = z.infer<typeof StoredSecret>;

/** What a change did, for the audit (`secret.changed`): never the value. */
export interface SecretChange {
  readonly ref: string;
  readonly version: number;
  readonly action: 'set' | 'rotated' | 'deleted';
  /** `human:<id>`. */
  readonly by: string;
}

/** The record as the API shows it: everything but the sealed values. */
export function viewOf(record: StoredSecret): SecretView {
  return {
    ref: record.ref,
    version: record.version,
    set_by: record.set_by,
    set_at: record.set_at,
    ...(record.rotated_at === undefined ? {} : { rotated_at: record.rotated_at }),
    ...(record.previous === undefined ? {} : { previous_version: record.previous.version }),
  };
}
