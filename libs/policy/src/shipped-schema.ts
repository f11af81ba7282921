import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the shipped Cedar schema lives, relative to the repository (or installed package) root. */
export const SHIPPED_SCHEMA_PATH = 'deploy/policies/warden.cedarschema';

/**
 * The path of the shipped Cedar schema (`deploy/policies/warden.cedarschema`), found by walking up
 * from this module: the same lookup works from the sources (tests), from `dist/` (the CLI, the
 * bench) and from an installed package that ships `deploy/`.
 */
export function shippedSchemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, SHIPPED_SCHEMA_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `${SHIPPED_SCHEMA_PATH} was not found above ${fileURLToPath(import.meta.url)}`,
      );
    }
    dir = parent;
  }
}

/** The shipped Cedar schema's text. */
export function shippedSchemaText(): string {
  return readFileSync(shippedSchemaPath(), 'utf8');
}
