import { defineService } from '@warden/service';
import { ToolExecutorConfig } from './config.js';
import { ToolExecutorModule } from './tool-executor.module.js';

/** The tool executor, as a process (`main.ts`) and as a component of `warden up`. */
export const service = defineService({
  name: 'tool-executor',
  version: '0.1.0',
  config: ToolExecutorConfig,
  module: ToolExecutorModule,
  events: {},
});
