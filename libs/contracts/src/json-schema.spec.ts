import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from './events/index.js';
import { buildJsonSchemas } from './json-schema.js';

const committed = join(import.meta.dirname, '..', '..', '..', 'deploy', 'schemas');

describe('JSON Schemas in deploy/schemas', () => {
  const generated = buildJsonSchemas();

  it('has one schema per event type plus the envelope', () => {
    expect(Object.keys(generated)).toHaveLength(EVENT_TYPES.length + 1);
  });

  it('are up to date with the contracts (run `npm run contracts:schema` when this fails)', () => {
    const onDisk = Object.fromEntries(
      readdirSync(committed)
        .filter((file) => file.endsWith('.schema.json'))
        .map((file) => [file, JSON.parse(readFileSync(join(committed, file), 'utf8')) as unknown]),
    );
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('forbid unknown data fields, so other languages validate as strictly as we do', () => {
    const schema = generated['intent.proposed.schema.json'] as {
      properties: { data: { additionalProperties: boolean } };
    };
    expect(schema.properties.data.additionalProperties).toBe(false);
  });
});
