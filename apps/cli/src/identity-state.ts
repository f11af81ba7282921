import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What `warden up` keeps for one env under its state directory, so a restart finds the same keys
 * and admin:
 * - `identity-master.key`: the master key that encrypts the broker's signing keys in NATS KV
 *   (made on first start; losing it means the signing keys must be rotated away);
 * - `executor-master.key`: the master key that seals the tool executor's credentials in NATS KV
 *   (`warden secrets`; losing it means setting them again);
 * - `bootstrap-admin.secret`: the bootstrap admin's secret, written by the broker the first time
 *   it creates that admin.
 * All are mode 0600. An operator who sets IDENTITY_MASTER_KEY, EXECUTOR_MASTER_KEY or
 * IDENTITY_BOOTSTRAP_ADMIN_SECRET in the environment overrides the files.
 */
export interface IdentityState {
  readonly masterKey: string;
  readonly executorMasterKey: string;
  readonly bootstrapSecretFile: string;
}

/** The identity files of `env` under `stateDir`, creating the master key if there is none. */
export function identityState(stateDir: string, env: string): IdentityState {
  const dir = resolve(stateDir, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return {
    masterKey: keptSecret(join(dir, 'identity-master.key')),
    executorMasterKey: keptSecret(join(dir, 'executor-master.key')),
    bootstrapSecretFile: join(dir, 'bootstrap-admin.secret'),
  };
}

/** The 32 random bytes (base64) kept in `file` (mode 0600), made there the first time. */
export function keptSecret(file: string): string {
  try {
    // 'wx': two `warden up` starting at once must not each write a different key.
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

/** The environment the identity broker gets from `warden up`: files unless the operator set values. */
export function identityEnv(state: IdentityState): Record<string, string> {
  return {
    IDENTITY_MASTER_KEY: process.env['IDENTITY_MASTER_KEY'] ?? state.masterKey,
    EXECUTOR_MASTER_KEY: process.env['EXECUTOR_MASTER_KEY'] ?? state.executorMasterKey,
    IDENTITY_BOOTSTRAP_SECRET_FILE:
      process.env['IDENTITY_BOOTSTRAP_SECRET_FILE'] ?? state.bootstrapSecretFile,
  };
}

/**
 * The bootstrap admin's secret as `warden up` and `warden demo` can find it: the environment's
 * IDENTITY_BOOTSTRAP_ADMIN_SECRET, else the file the broker wrote. `undefined` when neither exists.
 */
export function bootstrapAdminSecret(stateDir: string, env: string): string | undefined {
  const fromEnv = process.env['IDENTITY_BOOTSTRAP_ADMIN_SECRET'];
  if (fromEnv) return fromEnv;
  const file = join(resolve(stateDir, env), 'bootstrap-admin.secret');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
