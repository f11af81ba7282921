export {
  ARG_TYPES,
  STRING_FORMATS,
  type ArgSchema,
  type ArgType,
  type ArrayArgSchema,
  type BooleanArgSchema,
  type JsonScalar,
  type NullArgSchema,
  type NumberArgSchema,
  type ObjectArgSchema,
  type StringArgSchema,
  type StringFormat,
} from './arg-schema.js';
export { ArgPath, parseArgPath, resolveSchemaPath } from './arg-paths.js';
export {
  compileArgs,
  type ArgsValidation,
  type ArgsValidator,
  type CompileArgsOptions,
  type Violation,
} from './args-validator.js';
export { checkArgSchema, type ArgSchemaCheck } from './check-arg-schema.js';
export {
  compileVersion,
  decideIntent,
  evaluateIntent,
  policyDecidedData,
  riskOf,
  type DecidableTool,
  type DecidableVersion,
  type IntentFacts,
  type PolicyOutcome,
  type Verdict,
} from './decide-intent.js';
export { deriveRisk, type RiskFlags, type RiskSource } from './derive-risk.js';
export { ARGS_LIMITS, DECLARATION_LIMITS } from './limits.js';
export {
  parseToolDeclaration,
  type DeclarationError,
  type ParseToolOptions,
  type ParseToolResult,
} from './parse-tool-declaration.js';
export { formatPath, type PathIssue, type PathSegment } from './paths.js';
export {
  Condition,
  evaluateCondition,
  type ConditionOp,
  type LeafCondition,
} from './risk-condition.js';
export { unsafePatternReason } from './safe-pattern.js';
export { matchesFormat } from './string-formats.js';
export {
  ExecutorSection,
  RiskFlagName,
  RiskRule,
  STANDARD_RISK_FLAGS,
  ToolDeclaration,
} from './tool-declaration.js';
export {
  annotationIssues,
  buildCedarRequest,
  canMatch,
  CEDAR_NAMES,
  checkPolicyFiles,
  compilePolicyEngine,
  decide,
  entityKey,
  loadPolicyFiles,
  policyMeta,
  positionAt,
  readArgsShape,
  ScopeIndex,
  splitPolicies,
  validatePolicySet,
  type ArgsShape,
  type BuiltRequest,
  type CedarDecision,
  type CedarIssue,
  type CedarRequest,
  type CedarType,
  type CompiledPolicySet,
  type DecisionInput,
  type EngineDecision,
  type LoadedPolicyFiles,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyEngineResult,
  type PolicyFile,
  type PolicyFileIssue,
  type PolicyFilesCheck,
  type PolicyMeta,
  type PolicyOrigin,
  type PolicySetValidation,
  type PolicyTexts,
  type RequestScope,
  type ScopeConstraint,
  type ScopeEntity,
  type SourcePosition,
} from './cedar/index.js';
export { SHIPPED_SCHEMA_PATH, shippedSchemaPath, shippedSchemaText } from './shipped-schema.js';
export {
  latestKey,
  parseStoredTool,
  StoredTool,
  storedFromEvent,
  versionKey,
} from './stored-tool.js';
export {
  BUILTIN_POLICY_FILES,
  BUILTIN_TOOL_SOURCES,
  builtinToolSources,
  seedBuiltins,
  type PolicyApiCall,
} from './builtin/index.js';
