export {
  compilePolicySet,
  decide,
  type CedarDecision,
  type CedarRequest,
  type CompileResult,
  type CompiledPolicySet,
} from './cedar-engine.js';
export { positionAt, type SourcePosition } from './source-position.js';
export {
  validatePolicySet,
  type CedarIssue,
  type PolicySetValidation,
  type PolicyTexts,
} from './validate-policy-set.js';
