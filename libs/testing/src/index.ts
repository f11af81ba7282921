/**
 * `@warden/testing`: helpers every project's tests share. Tests run against a real NATS server
 * (never a mock), each in its own env so files run in parallel.
 */
export { uniqueEnv } from './env.js';
export {
  DEFAULT_TEST_NATS_URL,
  hasJetStream,
  spawnNatsServer,
  type SpawnedNatsServer,
  type SpawnNatsServerOptions,
  startNats,
  type TestNats,
} from './nats-server.js';
export { getFreePort, getFreePortRange } from './ports.js';
export { childPids } from './processes.js';
export { makeTempDir, removeTempDir } from './temp-dir.js';
export {
  startScopedNats,
  type GeneratedNatsSetup,
  type NatsAuthKit,
  type ScopedNats,
  type ScopedPrincipal,
} from './scoped-nats.js';
export { seededRandom, type SeededRandom } from './seeded-random.js';
export { sleep, waitFor, type WaitForOptions } from './wait-for.js';
export { auditSql } from './audit-sql.js';
export { proposedEvent, TEST_PRODUCER, type ProposedEventOptions } from './events.js';
export { eventsOfType, readStream, type StreamMessage } from './stream.js';
export { callPolicy, putRegisteredTool, seedBuiltins } from './policy.js';
export {
  adminToken,
  ApiRefusal,
  callApi,
  humanWithToken,
  identityTestEnv,
  registerAgents,
  TEST_ADMIN_SECRET,
  TEST_EXECUTOR_MASTER_KEY,
  TEST_IDENTITY_MASTER_KEY,
} from './identity.js';
