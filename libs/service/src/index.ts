/**
 * `@warden/service`: the process concerns of a Warden service, shared by all five and by the
 * embedded `warden up`: configuration from the environment, health and readiness endpoints, and a
 * graceful, bounded shutdown. Domain code never imports it; `main.ts` and module wiring do.
 */
// Nest's decorators need the Reflect metadata API before any decorated class is evaluated.
import 'reflect-metadata';

export { parseConfig } from './config.js';
export {
  type HumanAuthorizer,
  type HumanCaller,
  IntrospectingHumanAuthorizer,
} from './human-authorizer.js';
export { type HumanApiAnswers, type HumanApiOp, serveHumanApi } from './human-api.js';
export { provisionedPublisherProvider } from './provisioned-publisher.js';
export { serviceConnectOptions } from './nats-connect-options.js';
export {
  defineService,
  type DefineServiceOptions,
  type ServiceEntry,
  type StartOptions,
} from './define-service.js';
export {
  baseEnv,
  BaseServiceConfig,
  DEFAULT_NATS_URL,
  eventConsumerEnv,
  HttpHostVar,
  HttpPortVar,
  LogLevelVar,
  NatsUrlVar,
  WardenEnvVar,
  withExample,
} from './env-vars.js';
export { HealthController, type LivenessBody, type ReadinessBody } from './health.controller.js';
export { HealthModule, type HealthModuleOptions } from './health.module.js';
export { trackShutdownHooks } from './lifecycle-tracker.js';
export {
  type ReadinessCheck,
  type ReadinessOptions,
  type ReadinessReport,
  ReadinessRegistry,
  type ReadinessResult,
  SHUTDOWN_CHECK,
} from './readiness-registry.js';
export {
  exitOnStartupFailure,
  runService,
  type RunServiceOptions,
  type RunningService,
  type ServiceModule,
  type ServiceProcessConfig,
} from './run-service.js';
export {
  NATS_CONNECTION,
  SERVICE_CONFIG,
  SERVICE_INFO,
  SERVICE_LOGGER,
  ServiceHostModule,
  type ServiceHostOptions,
  type ServiceInfo,
} from './service-host.module.js';
export {
  ConfigError,
  type ConfigIssue,
  isConfigError,
  ReadinessCheckExistsError,
  ServiceError,
  type ServiceErrorCode,
  ShutdownInProgressError,
} from './service.errors.js';
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  EXIT_SHUTDOWN_FAILED,
  processShutdownCoordinator,
  ShutdownCoordinator,
  type ShutdownCoordinatorOptions,
  type ShutdownParticipant,
  type ShutdownSignal,
  type SignalSource,
} from './shutdown-coordinator.js';
