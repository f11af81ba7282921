export {
  decide,
  type CedarDecision,
  type CedarRequest,
  type CompiledPolicySet,
} from './cedar-engine.js';
export {
  buildCedarRequest,
  CEDAR_NAMES,
  readArgsShape,
  type ArgsShape,
  type BuiltRequest,
  type CedarType,
  type DecisionInput,
} from './cedar-request.js';
export {
  annotationIssues,
  checkPolicyFiles,
  loadPolicyFiles,
  splitPolicies,
  type LoadedPolicyFiles,
  type PolicyFile,
  type PolicyFileIssue,
  type PolicyFilesCheck,
  type PolicyOrigin,
} from './policy-files.js';
export {
  compilePolicyEngine,
  type EngineDecision,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyEngineResult,
} from './policy-engine.js';
export {
  canMatch,
  entityKey,
  policyMeta,
  ScopeIndex,
  type PolicyMeta,
  type RequestScope,
  type ScopeConstraint,
  type ScopeEntity,
} from './policy-scope.js';
export { positionAt, type SourcePosition } from './source-position.js';
export {
  validatePolicySet,
  type CedarIssue,
  type PolicySetValidation,
  type PolicyTexts,
} from './validate-policy-set.js';
