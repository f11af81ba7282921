import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Creates a new empty directory under the OS temp dir, named `warden-<prefix>-XXXXXX`, and
 * returns its absolute path. Remove it with {@link removeTempDir} in `afterAll`.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  const safe = prefix.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'tmp';
  return mkdtemp(join(tmpdir(), `warden-${safe}-`));
}

/** Removes a directory and everything in it; a directory that is already gone is fine. */
export async function removeTempDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}
