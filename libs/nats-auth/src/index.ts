/**
 * `@warden/nats-auth`: scoped NATS access (DESIGN §6). Operator-mode JWTs for every principal,
 * the permission tables of agents and services as data, the identity broker's minting of agent
 * NATS credentials, and the generator behind `warden nats setup`.
 */
export {
  AGENT_NATS_JWT_MAX_TTL_SECONDS,
  AGENT_SIGNING_ROLE,
  agentScopedSigningKey,
  createAccountKey,
  createUserKey,
  formatCreds,
  keyFromSeed,
  keyText,
  mintAccountJwt,
  mintAgentUserJwt,
  mintOperatorJwt,
  mintUserJwt,
  unlimitedAccountLimits,
  userClaims,
  type MintAgentUserOptions,
  type MintUserOptions,
  type NkeyText,
} from './jwt.js';
export {
  AGENT_ID_TAG,
  AGENT_ID_TEMPLATE,
  AGENT_PUBLISHES,
  AGENT_READS,
  agentInboxPrefix,
  agentPermissions,
  agentPermissionsTemplate,
  BOOTSTRAP_INBOX_PREFIX,
  bootstrapPermissions,
  cliPermissions,
  consumerCreateSubject,
  isWardenService,
  SERVICE_PROFILES,
  serviceDurable,
  serviceDurableNames,
  serviceInboxPrefix,
  servicePermissions,
  WARDEN_SERVICES,
  type DurableGrant,
  type NatsPermissions,
  type ServiceProfile,
  type WardenService,
} from './permissions.js';
export { generateNatsSetup, SETUP_FILES, type NatsSetup, type NatsSetupOptions } from './setup.js';
export { isNatsAuthError, NatsAuthError, type NatsAuthErrorCode } from './nats-auth.errors.js';
