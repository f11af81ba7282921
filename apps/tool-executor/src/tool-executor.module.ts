import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { ToolExecutorConfig } from './config.js';
import { ExecuteToolHandler } from './handlers/execute-tool.handler.js';
import { BuiltinToolRunner } from './infra/builtin-tools.runner.js';
import { EXECUTION_STORE, type ExecutionStore } from './infra/execution-store.js';
import { KvExecutionStore } from './infra/execution-store.kv.js';
import { TOOL_RUNNER, type ToolRunner } from './infra/tool-runner.js';
import { ExecuteTool } from './use-cases/execute-tool.use-case.js';

/** Tool executor: do it, safely (DESIGN §2 step 5, §5). */
@Module({
  controllers: [ExecuteToolHandler],
  providers: [
    {
      provide: EXECUTION_STORE,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: async (nc: NatsConnection, config: ToolExecutorConfig) => {
        const { executions } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['executions']);
        return new KvExecutionStore(executions);
      },
    },
    // Only the built-ins for now; HTTP and NATS tool runners join them behind this token.
    { provide: TOOL_RUNNER, useFactory: () => new BuiltinToolRunner() },
    {
      provide: ExecuteTool,
      inject: [EXECUTION_STORE, TOOL_RUNNER, SERVICE_CONFIG, SERVICE_LOGGER],
      useFactory: (
        store: ExecutionStore,
        runner: ToolRunner,
        config: ToolExecutorConfig,
        logger: Logger,
      ) =>
        new ExecuteTool({
          store,
          runner,
          logger,
          settings: {
            maxOutputBytes: config.EXECUTOR_MAX_OUTPUT_BYTES,
            maxTimeoutMs: config.EXECUTOR_TOOL_TIMEOUT_MS,
            leaseGraceMs: config.EXECUTOR_LEASE_GRACE_MS,
            maxAttempts: config.EXECUTOR_MAX_ATTEMPTS,
          },
        }),
    },
  ],
})
export class ToolExecutorModule {}
