import type { Provider, Type } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets, type EventPublisher } from '@warden/messaging';
import {
  NATS_CONNECTION,
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { BROKER_PUBLISHER } from '../broker-publisher.js';
import type { IdentityBrokerConfig } from '../config.js';
import { prepareSecretVerifier } from '../domain/secret-verifier.js';
import {
  ADMIN_AUTHORIZER,
  AGENT_DIRECTORY,
  HUMAN_DIRECTORY,
  type AgentDirectory,
  type HumanDirectory,
} from '../ports.js';
import { TokenAdminAuthorizer } from './admin-authorizer.js';
import { ASSERTION_MEMORY_MS, KvAssertionReplay } from './assertion-replay.kv.js';
import { AuthenticateIntentHandler } from './authenticate-intent.handler.js';
import { AuthenticateIntent } from './authenticate-intent.use-case.js';
import { CredentialEvents } from './credential-events.js';
import { CredentialsApi } from './credentials-api.js';
import { IssueToken } from './issue-token.use-case.js';
import { KvKeyRing } from './key-ring.kv.js';
import { NatsCredentials } from './nats-credentials.js';
import { ReplySealer } from './reply-sealer.js';
import { RevokeCredentials } from './revoke-credentials.use-case.js';
import { KvRevocations } from './revocations.kv.js';
import { credentialSettings, type CredentialSettings } from './settings.js';

/** Nest token of the {@link CredentialSettings}. */
export const CREDENTIAL_SETTINGS = Symbol('identity.credential-settings');

/*
 * Everything that touches NATS at start (buckets, the key ring, the revocation view) is done in
 * async factories: Nest resolves them before the event transport starts consuming, so the first
 * intent already meets a loaded key ring and revocation list.
 */

/**
 * The credentials half of the broker: signing keys and their rotation, token issuance, revocation
 * and the authentication stage. Provides ADMIN_AUTHORIZER (see ../ports.ts).
 */
export const credentialProviders: Provider[] = [
  {
    provide: CREDENTIAL_SETTINGS,
    inject: [SERVICE_CONFIG],
    useFactory: async (config: IdentityBrokerConfig): Promise<CredentialSettings> => {
      // The dummy scrypt verifier is made before any request can arrive: made lazily, the first
      // unknown id would cost two scrypts and tell itself apart (domain/secret-verifier.ts).
      await prepareSecretVerifier();
      return credentialSettings(config);
    },
  },
  {
    provide: CredentialEvents,
    inject: [BROKER_PUBLISHER],
    useFactory: (publisher: EventPublisher) => new CredentialEvents(publisher),
  },
  {
    provide: KvKeyRing,
    inject: [
      NATS_CONNECTION,
      CREDENTIAL_SETTINGS,
      CredentialEvents,
      SERVICE_LOGGER,
      ReadinessRegistry,
    ],
    useFactory: async (
      nc: NatsConnection,
      settings: CredentialSettings,
      events: CredentialEvents,
      logger: Logger,
      readiness: ReadinessRegistry,
    ) => {
      // History 1: the ring is one document; private keys cannot be rebuilt from the log (only
      // public halves are logged), so this bucket is the one to back up.
      const { signing_keys: kv } = await ensureKvBuckets(nc, settings.env, ['signing_keys']);
      const ring = new KvKeyRing(kv, {
        masterKey: settings.masterKey,
        rotationPeriodMs: settings.rotationPeriodMs,
        retireAfterMs: settings.retireAfterMs,
        onRotated: (rotation) => events.rotated(rotation),
        logger,
      });
      await ring.start();
      readiness.register('signing-keys', () => ring.status);
      return ring;
    },
  },
  {
    provide: KvRevocations,
    inject: [NATS_CONNECTION, CREDENTIAL_SETTINGS, SERVICE_LOGGER, ReadinessRegistry],
    useFactory: async (
      nc: NatsConnection,
      settings: CredentialSettings,
      logger: Logger,
      readiness: ReadinessRegistry,
    ) => {
      const { revocations: kv } = await ensureKvBuckets(nc, settings.env, ['revocations'], {
        ttlMs: settings.revocationRetentionMs,
      });
      const revocations = new KvRevocations(kv, settings.revocationRetentionMs, logger);
      await revocations.start();
      readiness.register('revocations', () => revocations.status);
      return revocations;
    },
  },
  {
    provide: KvAssertionReplay,
    inject: [NATS_CONNECTION, CREDENTIAL_SETTINGS],
    useFactory: async (nc: NatsConnection, settings: CredentialSettings) => {
      const { assertion_jtis: kv } = await ensureKvBuckets(nc, settings.env, ['assertion_jtis'], {
        ttlMs: ASSERTION_MEMORY_MS,
      });
      return new KvAssertionReplay(kv);
    },
  },
  {
    provide: AuthenticateIntent,
    inject: [CREDENTIAL_SETTINGS, KvKeyRing, KvRevocations, AGENT_DIRECTORY, SERVICE_LOGGER],
    useFactory: (
      settings: CredentialSettings,
      keys: KvKeyRing,
      revocations: KvRevocations,
      agents: AgentDirectory,
      logger: Logger,
    ) =>
      new AuthenticateIntent({
        env: settings.env,
        keys,
        revocations: revocations.list,
        revocationsCurrent: () => revocations.healthy,
        agents,
        logger,
      }),
  },
  {
    provide: IssueToken,
    inject: [
      CREDENTIAL_SETTINGS,
      KvKeyRing,
      AGENT_DIRECTORY,
      HUMAN_DIRECTORY,
      KvAssertionReplay,
      KvRevocations,
      CredentialEvents,
      SERVICE_LOGGER,
    ],
    useFactory: (
      settings: CredentialSettings,
      keys: KvKeyRing,
      agents: AgentDirectory,
      humans: HumanDirectory,
      replay: KvAssertionReplay,
      revocations: KvRevocations,
      events: CredentialEvents,
      logger: Logger,
    ) =>
      new IssueToken({
        settings,
        signingKey: () => keys.activeKey(),
        agents,
        humans,
        replay,
        revocations: revocations.list,
        events,
        logger,
        ...(settings.nats === undefined
          ? {}
          : { natsCredentials: NatsCredentials.create({ env: settings.env, ...settings.nats }) }),
        // One curve key pair per process, made now: each replica seals with its own and names it
        // in `sender_xkey`, so replicas need not share it.
        sealer: new ReplySealer(),
      }),
  },
  {
    provide: RevokeCredentials,
    inject: [KvRevocations, CredentialEvents],
    useFactory: (revocations: KvRevocations, events: CredentialEvents) =>
      new RevokeCredentials(revocations, events),
  },
  {
    provide: ADMIN_AUTHORIZER,
    inject: [CREDENTIAL_SETTINGS, KvKeyRing, HUMAN_DIRECTORY, KvRevocations, SERVICE_LOGGER],
    useFactory: (
      settings: CredentialSettings,
      keys: KvKeyRing,
      humans: HumanDirectory,
      revocations: KvRevocations,
      logger: Logger,
    ) =>
      new TokenAdminAuthorizer({
        env: settings.env,
        keys,
        humans,
        revocations: revocations.list,
        revocationsCurrent: () => revocations.healthy,
        logger,
      }),
  },
  CredentialsApi,
];

export const credentialControllers: Type[] = [AuthenticateIntentHandler];
