import type { ToolArgs, ToolResult, ToolSpec } from '../domain/tools.js';
import type { RunOptions, ToolRunner } from './tool-runner.js';

/**
 * Several runners as one: a tool belongs to the first that describes it (the built-ins first, so
 * a registration cannot shadow them).
 */
export class ToolRunners implements ToolRunner {
  constructor(private readonly runners: readonly ToolRunner[]) {}

  async describe(tool: string, version?: number): Promise<ToolSpec | undefined> {
    return (await this.ownerOf(tool, version))?.spec;
  }

  async run(tool: string, args: ToolArgs, options: RunOptions): Promise<ToolResult> {
    const owner = await this.ownerOf(tool, options.version);
    if (owner === undefined) throw new Error(`no runner knows ${tool}`);
    return owner.runner.run(tool, args, options);
  }

  private async ownerOf(
    tool: string,
    version: number | undefined,
  ): Promise<{ runner: ToolRunner; spec: ToolSpec } | undefined> {
    for (const runner of this.runners) {
      const spec = await runner.describe(tool, version);
      if (spec !== undefined) return { runner, spec };
    }
    return undefined;
  }
}
