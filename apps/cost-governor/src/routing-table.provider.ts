import { readFileSync } from 'node:fs';
import type { Provider } from '@nestjs/common';
import { SERVICE_CONFIG } from '@warden/service';
import type { CostGovernorConfig } from './config.js';
import { DEFAULT_ROUTING_YAML, parseRouting, type RoutingTable } from './domain/routing/index.js';

export type { RoutingTable };

/** Token of the model routing table (prices and task classes), read once at start. */
export const ROUTING_TABLE = Symbol('governor.routing-table');

/**
 * `GOVERNOR_ROUTING_FILE` (YAML or JSON), else the built-in default. An invalid file stops the
 * service at start with every problem listed: routing on a half-read price table would misprice
 * every call.
 */
export const routingTableProvider: Provider = {
  provide: ROUTING_TABLE,
  inject: [SERVICE_CONFIG],
  useFactory: (config: CostGovernorConfig): RoutingTable => {
    const file = config.GOVERNOR_ROUTING_FILE;
    if (file === undefined) return parseRouting(DEFAULT_ROUTING_YAML);
    try {
      return parseRouting(readFileSync(file, 'utf8'));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`GOVERNOR_ROUTING_FILE ${file}: ${reason}`, { cause: error });
    }
  },
};
