import {
  AgentAttributes,
  AuthenticationMethod,
  HumanId,
  RoleName,
  SubjectToken,
  Timestamp,
} from '@warden/contracts';
import { z } from 'zod';
import type { StoredAgent } from '../domain/agent-projection.js';
import type { StoredHuman } from '../domain/human-projection.js';

/*
 * The shapes of the values in KV `agents` and `humans`. Only the registry writes them, but a
 * value is still parsed on the way in: a hand-edited or truncated value is reported as such
 * instead of travelling on as a half-valid record into the authentication stage.
 */

const StoredAgentSchema = AgentAttributes.extend({
  agent_id: SubjectToken,
  status: z.enum(['active', 'suspended', 'retired']),
  authentication: AuthenticationMethod,
  registered_at: Timestamp,
  registered_by: z.string().min(1),
  updated_at: Timestamp,
  last_event_id: z.string().min(1),
});

const StoredHumanSchema = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName),
  status: z.enum(['active', 'disabled']),
  authentication: AuthenticationMethod,
  registered_at: Timestamp,
  updated_at: Timestamp,
  last_event_id: z.string().min(1),
});

/** A KV value that is not a valid record. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  constructor(bucket: string, key: string, detail: string) {
    super(
      `KV ${bucket}/${key} does not hold a valid record (${detail}); rebuild the registry from the log`,
    );
  }
}

/** Parses a value of KV `agents`. @throws CorruptRecordError */
export function parseStoredAgent(key: string, value: unknown): StoredAgent {
  const parsed = StoredAgentSchema.safeParse(value);
  if (!parsed.success) throw new CorruptRecordError('agents', key, parsed.error.message);
  return parsed.data;
}

/** Parses a value of KV `humans`. @throws CorruptRecordError */
export function parseStoredHuman(key: string, value: unknown): StoredHuman {
  const parsed = StoredHumanSchema.safeParse(value);
  if (!parsed.success) throw new CorruptRecordError('humans', key, parsed.error.message);
  return parsed.data;
}
