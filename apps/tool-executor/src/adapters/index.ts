/**
 * The executor's tool adapters (issue 7 §2): the port, the `http` and `nats` adapters, and the
 * env's upstream table the http adapter calls through.
 */
export type {
  AdapterCall,
  AdapterResult,
  DeclaredTool,
  PreparedTool,
  SectionProblems,
  ToolAdapter,
} from './tool-adapter.js';
export {
  AdapterReason,
  isOutcomeUnknown,
  OutcomeUnknownError,
  type OutcomeUnknownCause,
} from './adapter-errors.js';
export {
  isToolAllowed,
  parseUpstreamTable,
  Upstream,
  UpstreamTable,
  type UpstreamTableParse,
} from './upstreams.js';
export { HttpAdapter, type HttpAdapterOptions } from './http/http-adapter.js';
export { HttpSection } from './http/http-section.js';
export { systemResolver, type ResolvedAddress, type Resolver } from './http/destination-guard.js';
export { NatsAdapter, NatsSection } from './nats/nats-adapter.js';
