/**
 * The tool executor's credential store (`warden secrets`, DESIGN §6): for the module, spread
 * `secretsEnv` into the config and `secretsProviders` into the providers; inject `SecretStore`
 * where an upstream call needs a credential.
 */
export { secretsEnv, type SecretsConfig } from './secrets-config.js';
export { secretsProviders, SecretsLifecycle } from './secrets.providers.js';
export {
  SecretStore,
  type ResolvedSecret,
  type SecretAudit,
  type SecretStoreOptions,
} from './secret-store.js';
export { isSecretsError, SecretsError, type SecretsErrorCode } from './secrets.errors.js';
