import { z } from 'zod';
import { AnyEnvelope, ENVELOPES } from './envelope.js';
import { EVENT_TYPES } from './events/index.js';

/**
 * JSON Schemas of the envelope and of every event type, keyed by file name, so producers in other
 * languages can validate what they publish. Written to `deploy/schemas/` by `npm run contracts:schema`;
 * a test fails when the committed files are stale.
 */
export function buildJsonSchemas(): Record<string, object> {
  const files: Record<string, object> = {
    'envelope.schema.json': withId(
      'envelope',
      z.toJSONSchema(AnyEnvelope, { target: 'draft-2020-12' }),
    ),
  };
  for (const type of EVENT_TYPES) {
    files[`${type}.schema.json`] = withId(
      type,
      z.toJSONSchema(ENVELOPES[type], { target: 'draft-2020-12' }),
    );
  }
  return files;
}

function withId(name: string, schema: object): object {
  return { $id: `urn:warden:schema:${name}`, title: name, ...schema };
}
