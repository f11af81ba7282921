import { setTimeout as delay } from 'node:timers/promises';
import { isBuiltinTool } from '@warden/contracts';
import { BUILTIN_ARGS, BUILTIN_SPECS, DEFAULT_FAIL_MESSAGE } from '../domain/builtin-tools.js';
import { ExecutorReason } from '../domain/reasons.js';
import type { ToolArgs, ToolResult, ToolSpec } from '../domain/tools.js';
import type { RunOptions, ToolRunner } from './tool-runner.js';

/** The built-in tools (contracts `BUILTIN_TOOLS`), run in-process: no upstream, no credentials. */
export class BuiltinToolRunner implements ToolRunner {
  describe(tool: string): Promise<ToolSpec | undefined> {
    return Promise.resolve(isBuiltinTool(tool) ? BUILTIN_SPECS[tool] : undefined);
  }

  async run(tool: string, args: ToolArgs, options: RunOptions): Promise<ToolResult> {
    if (!isBuiltinTool(tool)) throw new TypeError(`${tool} is not a built-in tool`);
    switch (tool) {
      case 'echo':
        return { ok: true, output: BUILTIN_ARGS.echo.parse(args) };
      case 'sleep': {
        const { ms } = BUILTIN_ARGS.sleep.parse(args);
        await sleepAtLeast(ms, options.signal);
        return { ok: true, output: { slept_ms: ms } };
      }
      case 'fail': {
        const { message } = BUILTIN_ARGS.fail.parse(args);
        return {
          ok: false,
          reason: ExecutorReason.toolFailed,
          message: message ?? DEFAULT_FAIL_MESSAGE,
          maybeApplied: false,
        };
      }
      case 'noop':
        return { ok: true, output: {} };
    }
  }
}

/**
 * Waits `ms` as measured by `performance.now()`: Node's timers run on a millisecond loop clock and
 * may fire a fraction of a millisecond early, and `sleep` promises at least its `ms`.
 */
async function sleepAtLeast(ms: number, signal: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    await delay(Math.ceil(left), undefined, { signal });
  }
}
