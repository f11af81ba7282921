import { BUILTIN_TOOLS, type BuiltinTool } from '@warden/contracts';
import { type PolicyFile } from '../cedar/policy-files.js';

/*
 * Declarations of the built-in tools of `@warden/contracts` (BUILTIN_TOOLS), so the registry and
 * the decision stage treat them like any registered tool: same args validation, same Cedar path.
 * Kept as TypeScript constants rather than .yaml files so they ship inside `dist/` with no copy
 * step and no path resolution at run time.
 */

const header = (name: BuiltinTool): string => `name: ${name}
version: 1
kind: ${BUILTIN_TOOLS[name].kind}
domain: builtin
groups: [builtin]
description: Built-in tool that ${BUILTIN_TOOLS[name].description}.`;

const footer = (name: BuiltinTool): string => `cost:
  per_call_micro_usd: 0
idempotency_keys: true
executor:
  adapter: builtin
  target: ${name}
`;

/** The YAML declaration of each built-in tool. */
export const BUILTIN_TOOL_SOURCES: Readonly<Record<BuiltinTool, string>> = {
  echo: `${header('echo')}
args:
  type: object
  properties:
    text: { type: string, maxLength: 65536 }
    n: { type: integer }
    i: { type: integer }
    traced: { type: boolean }
    inline: { type: boolean }
${footer('echo')}`,
  sleep: `${header('sleep')}
args:
  type: object
  required: [ms]
  properties:
    ms: { type: integer, minimum: 0, maximum: 60000 }
${footer('sleep')}`,
  fail: `${header('fail')}
args:
  type: object
  properties:
    message: { type: string, maxLength: 2048 }
${footer('fail')}`,
  noop: `${header('noop')}
args:
  type: object
  properties: {}
${footer('noop')}`,
};

/** Each built-in tool's declaration as a file name and its YAML source, for the registry. */
export function builtinToolSources(): { file: string; source: string }[] {
  return (Object.keys(BUILTIN_TOOL_SOURCES) as BuiltinTool[]).map((name) => ({
    file: `${name}.yaml`,
    source: BUILTIN_TOOL_SOURCES[name],
  }));
}

/**
 * The policy that lets any agent call the built-in tools, except `fail` (it exists to exercise
 * the failure path; a deployment that wants it says so in its own policy).
 */
export const BUILTIN_POLICY_FILES: readonly PolicyFile[] = [
  {
    name: 'builtin.cedar',
    text: `// Any agent may call the built-in tools, except fail (tests grant it explicitly).
@id("builtin-permit")
permit (
  principal,
  action == Warden::Action::"invoke",
  resource in Warden::ToolGroup::"builtin"
)
unless { resource == Warden::Tool::"fail" };
`,
  },
];
