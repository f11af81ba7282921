export { BUILTIN_POLICY_FILES, BUILTIN_TOOL_SOURCES, builtinToolSources } from './builtin-tools.js';
export { seedBuiltins, type PolicyApiCall } from './seed-builtins.js';
