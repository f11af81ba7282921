/**
 * Cedar's wasm module, as every part of the policy library uses it. Import Cedar from here, never
 * from the package, so the V8 flag below is set in each process before Cedar's calls get hot.
 */
import { setFlagsFromString } from 'node:v8';

// Node 20's V8 (11.3) aborts the process ("Fatal error: unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when optimized code that inlined a JS-to-wasm call
// is deoptimized lazily while the call runs and the export returns an externref (Cedar's exports
// return JS objects). The governed bench (`npm run bench -- --scenario governed`) hit it in 6 of 10
// runs: --trace-deopt-verbose showed a lazy deopt of PolicyEngine.decide through a "JS to Wasm
// builtin continuation frame" just before each abort. Without inlining there is no such frame:
// 0 aborts in 8 runs, at the same throughput. V8 reads the flag when it optimizes a function,
// which is after this module has run.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

export * from '@cedar-policy/cedar-wasm/nodejs';
