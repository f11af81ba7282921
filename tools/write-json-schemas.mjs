// Writes the JSON Schemas of every event contract into deploy/schemas/ (run: npm run contracts:schema).
// The schemas come from libs/contracts (built first); libs/contracts/src/json-schema.spec.ts fails when they are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildJsonSchemas } from '@warden/contracts';

const dir = join(import.meta.dirname, '..', 'deploy', 'schemas');
mkdirSync(dir, { recursive: true });
for (const file of readdirSync(dir)) if (file.endsWith('.schema.json')) rmSync(join(dir, file));
const files = buildJsonSchemas();
for (const [name, schema] of Object.entries(files))
  writeFileSync(join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
console.log(`wrote ${Object.keys(files).length} schemas to ${dir}`);
