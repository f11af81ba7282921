import { readFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets, ForeignKv, type EventPublisher } from '@warden/messaging';
import {
  NATS_CONNECTION,
  provisionedPublisherProvider,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import {
  HttpAdapter,
  NatsAdapter,
  parseUpstreamTable,
  type UpstreamTable,
} from './adapters/index.js';
import type { ToolExecutorConfig } from './config.js';
import { DEFAULT_BREAKER_RULES } from './domain/breaker.js';
import { ExecuteToolHandler } from './handlers/execute-tool.handler.js';
import { BuiltinToolRunner } from './infra/builtin-tools.runner.js';
import { EXECUTION_STORE, type ExecutionStore } from './infra/execution-store.js';
import { KvExecutionStore } from './infra/execution-store.kv.js';
import { TOOL_RUNNER, type ToolRunner } from './infra/tool-runner.js';
import { ToolRunners } from './infra/tool-runners.js';
import { BreakerEvents } from './registered/breaker-events.js';
import { BreakerStore } from './registered/breaker-store.js';
import { RegisteredTools } from './registered/registered-tools.js';
import { RegisteredToolRunner } from './registered/registered-tools.runner.js';
import { OutputSealer } from './sealing/output-sealer.js';
import { RunKeys } from './sealing/run-keys.js';
import { SecretStore, secretsProviders } from './secrets/index.js';
import { ExecuteTool, type FailPoint } from './use-cases/execute-tool.use-case.js';

const PUBLISHER = Symbol('tool-executor.publisher');

/** Tool executor: do it, safely (DESIGN §2 step 5, §5). */
@Module({
  controllers: [ExecuteToolHandler],
  providers: [
    ...secretsProviders,
    provisionedPublisherProvider(PUBLISHER),
    {
      provide: EXECUTION_STORE,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: async (nc: NatsConnection, config: ToolExecutorConfig) => {
        const { executions } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['executions']);
        return new KvExecutionStore(executions);
      },
    },
    {
      // The built-ins first (a registration cannot shadow them), then the registered tools.
      provide: TOOL_RUNNER,
      inject: [NATS_CONNECTION, SERVICE_CONFIG, SERVICE_LOGGER, SecretStore, PUBLISHER],
      useFactory: async (
        nc: NatsConnection,
        config: ToolExecutorConfig,
        logger: Logger,
        secrets: SecretStore,
        publisher: EventPublisher,
      ): Promise<ToolRunner> => {
        const { breakers } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['breakers']);
        const registered = new RegisteredToolRunner(
          new RegisteredTools(new ForeignKv(nc, config.WARDEN_ENV, 'tools')),
          [
            new HttpAdapter({ upstreams: upstreamsOf(config) }),
            new NatsAdapter(nc, config.WARDEN_ENV),
          ],
          secrets,
          new BreakerStore(breakers, {
            ...DEFAULT_BREAKER_RULES,
            consecutiveFailures: config.EXECUTOR_BREAKER_FAILURES,
            cooldownMs: config.EXECUTOR_BREAKER_COOLDOWN_MS,
          }),
          new BreakerEvents(publisher, logger),
        );
        return new ToolRunners([new BuiltinToolRunner(), registered]);
      },
    },
    {
      provide: ExecuteTool,
      inject: [EXECUTION_STORE, TOOL_RUNNER, RunKeys, SERVICE_CONFIG, SERVICE_LOGGER],
      useFactory: (
        store: ExecutionStore,
        runner: ToolRunner,
        runKeys: RunKeys,
        config: ToolExecutorConfig,
        logger: Logger,
      ) =>
        new ExecuteTool({
          store,
          runner,
          logger,
          // Seals the outputs of `seal_output` tools with their run's key.
          sealer: new OutputSealer(runKeys),
          settings: {
            maxOutputBytes: config.EXECUTOR_MAX_OUTPUT_BYTES,
            maxTimeoutMs: config.EXECUTOR_TOOL_TIMEOUT_MS,
            leaseGraceMs: config.EXECUTOR_LEASE_GRACE_MS,
            maxAttempts: config.EXECUTOR_MAX_ATTEMPTS,
          },
          ...(config.EXECUTOR_FAILPOINT === undefined
            ? {}
            : {
                crash: killSelfAt(
                  config.EXECUTOR_FAILPOINT,
                  config.EXECUTOR_FAILPOINT_INTENT,
                  logger,
                ),
              }),
        }),
    },
  ],
})
export class ToolExecutorModule {}

/**
 * The crash drill's hook (EXECUTOR_FAILPOINT): a real SIGKILL of this process when an attempt
 * (of `onlyIntent`, when given) reaches `failpoint`, so no shutdown hook, flush or ack runs,
 * exactly as in a crash.
 */
function killSelfAt(
  failpoint: FailPoint,
  onlyIntent: string | undefined,
  logger: Logger,
): (point: FailPoint, intentId: string) => void {
  logger.warn(
    { failpoint, intent_id: onlyIntent },
    'EXECUTOR_FAILPOINT set: this process kills itself at that point',
  );
  return (point, intentId) => {
    if (point === failpoint && (onlyIntent === undefined || intentId === onlyIntent)) {
      process.kill(process.pid, 'SIGKILL');
    }
  };
}

/** The env's upstream table (EXECUTOR_UPSTREAMS_FILE); a bad file stops the start, listing why. */
function upstreamsOf(config: ToolExecutorConfig): UpstreamTable {
  const file = config.EXECUTOR_UPSTREAMS_FILE;
  if (file === undefined) return {};
  const parsed = parseUpstreamTable(readFileSync(file, 'utf8'));
  if (!parsed.ok) {
    throw new Error(`EXECUTOR_UPSTREAMS_FILE ${file} is invalid: ${parsed.problems.join('; ')}`);
  }
  return parsed.table;
}
