import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './output.js';

/*
 * Where `warden login` keeps human tokens: one per env, in a JSON file readable by its owner only
 * (mode 0600, directory 0700). The token is short-lived (IDENTITY_HUMAN_TOKEN_TTL_SECONDS), so the
 * file holds no long-lived secret; it is still a credential, hence the mode.
 */

const StoredLogin = z.object({
  human_id: z.string(),
  token: z.string().min(1),
  jti: z.string(),
  expires_at: z.string(),
});
export type StoredLogin = z.infer<typeof StoredLogin>;

const CredentialsFile = z.object({
  version: z.literal(1),
  envs: z.record(z.string(), StoredLogin),
});
type CredentialsFile = z.infer<typeof CredentialsFile>;

/**
 * The credentials file: WARDEN_CREDENTIALS_FILE, else `$XDG_CONFIG_HOME/warden/credentials.json`,
 * else `~/.config/warden/credentials.json`.
 */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['WARDEN_CREDENTIALS_FILE'];
  if (explicit) return explicit;
  const base = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(base, 'warden', 'credentials.json');
}

async function readAll(path: string): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, envs: {} };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = CredentialsFile.safeParse(value);
  if (!parsed.success) {
    throw new CliError(
      `${path} is not a Warden credentials file`,
      'Delete it (or point WARDEN_CREDENTIALS_FILE elsewhere) and run `warden login` again.',
    );
  }
  return parsed.data;
}

async function writeAll(path: string, file: CredentialsFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written beside and renamed over, so a crash never leaves half a file; mode set explicitly
  // because a file that already existed keeps its mode through writeFile.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** The login stored for `env`, if any (expired or not: the caller decides). */
export async function loadLogin(
  env: string,
  path = credentialsPath(),
): Promise<StoredLogin | undefined> {
  return (await readAll(path)).envs[env];
}

/** Stores the login of `env`, replacing the previous one. */
export async function saveLogin(
  env: string,
  login: StoredLogin,
  path = credentialsPath(),
): Promise<void> {
  const file = await readAll(path);
  file.envs[env] = login;
  await writeAll(path, file);
}

/** Forgets the login of `env`; whether there was one. */
export async function removeLogin(env: string, path = credentialsPath()): Promise<boolean> {
  const file = await readAll(path);
  if (!(env in file.envs)) return false;
  const envs = Object.fromEntries(Object.entries(file.envs).filter(([name]) => name !== env));
  await writeAll(path, { ...file, envs });
  return true;
}
