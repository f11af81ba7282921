import { defineService } from '@warden/service';
import { CollectorConfig } from './config.js';
import { TraceCollectorModule } from './trace-collector.module.js';

/** The trace collector, as a process (`main.ts`) and as a component of the embedded `warden up`. */
export const service = defineService({
  name: 'trace-collector',
  version: '0.1.0',
  config: CollectorConfig,
  module: TraceCollectorModule,
});
