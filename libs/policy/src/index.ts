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
  compilePolicySet,
  decide,
  positionAt,
  validatePolicySet,
  type CedarDecision,
  type CedarIssue,
  type CedarRequest,
  type CompileResult,
  type CompiledPolicySet,
  type PolicySetValidation,
  type PolicyTexts,
  type SourcePosition,
} from './cedar/index.js';
