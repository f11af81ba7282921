import type { ForeignKv } from '@warden/messaging';
import {
  compileArgs,
  latestKey,
  parseStoredTool,
  versionKey,
  type ArgsValidator,
  type ToolDeclaration,
} from '@warden/policy';

/** A registered tool version, with its args validator compiled once. */
export interface RegisteredTool {
  readonly declaration: ToolDeclaration;
  readonly digest: string;
  readonly validate: ArgsValidator;
}

/**
 * Tool versions as the policy decision service registered them (its KV `tools`, read here only).
 * A version is immutable, so it is read once and kept (with its compiled validator); the latest
 * version of a name, asked for when an intent names none, is read each time so a new registration
 * applies at once. A record that does not parse is treated as no tool: the intent fails
 * `unknown_tool` rather than running with a declaration nobody validated.
 */
export class RegisteredTools {
  private readonly versions = new Map<string, RegisteredTool>();

  constructor(private readonly kv: ForeignKv) {}

  async get(name: string, version?: number): Promise<RegisteredTool | undefined> {
    if (version !== undefined) {
      const held = this.versions.get(versionKey(name, version));
      if (held !== undefined) return held;
    }
    const entry = await this.kv.get(
      version === undefined ? latestKey(name) : versionKey(name, version),
    );
    if (entry === null) return undefined;
    const parsed = parseStoredTool(entry.json<unknown>());
    if ('error' in parsed) return undefined;
    const key = versionKey(name, parsed.declaration.version);
    const held = this.versions.get(key);
    if (held?.digest === parsed.stored.digest) return held;
    const tool: RegisteredTool = {
      declaration: parsed.declaration,
      digest: parsed.stored.digest,
      validate: compileArgs(parsed.declaration.args),
    };
    this.versions.set(key, tool);
    return tool;
  }
}
