import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The secret kept in `path`, making it with `make` and writing it (mode 0600, parent directories
 * 0700) when the file does not exist. The file is created exclusively (`wx`): of two processes
 * racing on one path, the second reads what the first wrote, so both use the same secret.
 *
 * Written *before* the secret is used: a crash after registering a principal must never leave a
 * verifier in the log whose secret nobody kept.
 */
export async function readOrCreateSecretFile(
  path: string,
  make: () => string,
): Promise<{ secret: string; created: boolean }> {
  const existing = await readSecret(path);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const secret = make();
  try {
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const raced = await readSecret(path);
    if (raced === undefined)
      throw new Error(`${path} exists but holds no secret`, { cause: error });
    return { secret: raced, created: false };
  }
}

async function readSecret(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
