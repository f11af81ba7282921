import { ADMIN_ROLE, isSubjectToken, SUBJECT_TOKEN_RULE } from '@warden/contracts';
import type { MessagingLogger } from '@warden/messaging';
import { newClientSecret } from '../domain/secret-verifier.js';
import type { HumanRegistry } from './human-registry.js';
import { readOrCreateSecretFile } from './infra/secret-file.js';

/** The settings of the bootstrap admin (IDENTITY_BOOTSTRAP_* in config.ts). */
export interface BootstrapAdminSettings {
  /** IDENTITY_BOOTSTRAP_ADMIN. */
  readonly humanId: string;
  /** IDENTITY_BOOTSTRAP_ADMIN_SECRET. */
  readonly secret?: string | undefined;
  /** IDENTITY_BOOTSTRAP_SECRET_FILE. */
  readonly secretFile?: string | undefined;
}

/** What {@link ensureBootstrapAdmin} did. */
export type BootstrapOutcome =
  /** An active admin exists: nothing to do. */
  | 'admin_exists'
  /** This replica created the bootstrap admin. */
  | 'created'
  /** The bootstrap admin's id exists, or another replica created it at the same moment. */
  | 'not_created'
  /** No admin, and no secret configured: a warning says which variable to set. */
  | 'no_secret';

/** Who the log records as having registered the bootstrap admin. */
export const BOOTSTRAP_ACTOR = 'identity-broker:bootstrap';

/**
 * Makes sure the env has an admin: when no active human has the `admin` role, creates
 * IDENTITY_BOOTSTRAP_ADMIN with that role. Its secret is IDENTITY_BOOTSTRAP_ADMIN_SECRET, or
 * else the one kept in IDENTITY_BOOTSTRAP_SECRET_FILE (made and written, mode 0600, if the file
 * does not exist yet). Two replicas starting together create one admin (see HumanRegistry).
 * The secret is never logged.
 *
 * @throws Error when IDENTITY_BOOTSTRAP_ADMIN is not a valid id: a configuration error.
 */
export async function ensureBootstrapAdmin(
  humans: Pick<HumanRegistry, 'hasActiveAdmin' | 'find' | 'create'>,
  settings: BootstrapAdminSettings,
  logger: MessagingLogger,
): Promise<BootstrapOutcome> {
  const { humanId } = settings;
  if (!isSubjectToken(humanId)) {
    throw new Error(`IDENTITY_BOOTSTRAP_ADMIN ${JSON.stringify(humanId)} ${SUBJECT_TOKEN_RULE}`);
  }
  if (await humans.hasActiveAdmin()) return 'admin_exists';

  const existing = await humans.find(humanId);
  if (existing !== undefined) {
    // Re-granting the role or re-enabling a disabled admin on its own would undo an operator's
    // decision: say what is wrong instead.
    logger.warn(
      { human_id: humanId, status: existing.status, roles: existing.roles },
      `no active admin, and bootstrap admin ${humanId} exists without being one; set IDENTITY_BOOTSTRAP_ADMIN to an unused id and restart to create another admin`,
    );
    return 'not_created';
  }

  let secret: string;
  let source: string;
  if (settings.secret !== undefined) {
    secret = settings.secret;
    source = 'IDENTITY_BOOTSTRAP_ADMIN_SECRET';
  } else if (settings.secretFile !== undefined) {
    // The file is written before the admin is registered, so a crash in between never leaves an
    // admin whose secret nobody kept.
    ({ secret } = await readOrCreateSecretFile(settings.secretFile, newClientSecret));
    source = settings.secretFile;
  } else {
    logger.warn(
      { human_id: humanId },
      `no admin exists and none can be created: set IDENTITY_BOOTSTRAP_ADMIN_SECRET (or IDENTITY_BOOTSTRAP_SECRET_FILE, where one is written) and restart the identity broker; admin APIs refuse every caller until then`,
    );
    return 'no_secret';
  }

  const outcome = await humans.create(humanId, [ADMIN_ROLE], secret, BOOTSTRAP_ACTOR);
  if (!outcome.created) {
    logger.info({ human_id: humanId }, 'bootstrap admin created by another replica');
    return 'not_created';
  }
  logger.info(
    { human_id: humanId, secret_from: source },
    `bootstrap admin ${humanId} created; log in with \`warden login --user ${humanId}\` and the secret from ${source}`,
  );
  return 'created';
}
