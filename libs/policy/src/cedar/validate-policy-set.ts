import * as cedar from './cedar-wasm.js';
import { positionAt } from './source-position.js';

/** Policies by id, as they are published: one Cedar policy (text) per id. */
export type PolicyTexts = Readonly<Record<string, string>>;

/** One reason a schema or policy set is refused. */
export interface CedarIssue {
  /** The policy it is about; absent when it is about the schema or the set as a whole. */
  readonly policyId?: string;
  /** Where in that policy's text (or in the schema, when `policyId` is absent), when Cedar says. */
  readonly line?: number;
  readonly column?: number;
  /** Cedar's message, with its hint (`did you mean …`) appended when it gives one. */
  readonly message: string;
}

/** The verdict on a policy set: `ok` only when no error was found. Warnings never refuse a set. */
export interface PolicySetValidation {
  readonly ok: boolean;
  readonly errors: readonly CedarIssue[];
  readonly warnings: readonly CedarIssue[];
}

/**
 * Checks a schema and a policy set the way publishing must (issue 5): the schema parses, each
 * policy parses on its own, and the set passes Cedar's validator in strict mode. Collects every
 * error with its policy id and, when Cedar gives a location, its line and column. Never throws.
 *
 * Policies are parsed one by one first because Cedar stops at the first unparsable policy of a
 * set and names its id only inside the message; parsing each alone attributes every syntax error.
 */
export function validatePolicySet(schemaText: string, policies: PolicyTexts): PolicySetValidation {
  try {
    return validateUnsafe(schemaText, policies);
  } catch (error) {
    // The wasm bindings throw only on inputs they cannot deserialise; refuse rather than crash.
    return { ok: false, errors: [{ message: `cedar failed: ${describe(error)}` }], warnings: [] };
  }
}

function validateUnsafe(schemaText: string, policies: PolicyTexts): PolicySetValidation {
  const errors: CedarIssue[] = [];
  const schema = cedar.checkParseSchema(schemaText);
  if (schema.type === 'failure') {
    errors.push(...schema.errors.map((error) => toIssue(error, schemaText)));
  }
  // An empty set is valid: it denies everything, which is a legitimate (kill-switch) version.
  for (const id of Object.keys(policies)) {
    const text = policies[id] ?? '';
    const parsed = cedar.checkParsePolicySet({ staticPolicies: { [id]: text } });
    if (parsed.type === 'failure') {
      errors.push(...parsed.errors.map((error) => toIssue(error, text, id)));
    }
  }
  // The validator needs a parsed schema and set; with either broken its errors would only repeat.
  if (errors.length > 0) return { ok: false, errors, warnings: [] };

  const answer = cedar.validate({
    schema: schemaText,
    policies: { staticPolicies: { ...policies } },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    return {
      ok: false,
      errors: answer.errors.map((error) => toIssue(error, undefined)),
      warnings: answer.warnings.map((error) => toIssue(error, undefined)),
    };
  }
  const found = answer.validationErrors.map(({ policyId, error }) =>
    toIssue(error, policies[policyId], policyId),
  );
  const warnings = [
    ...answer.validationWarnings.map(({ policyId, error }) =>
      toIssue(error, policies[policyId], policyId),
    ),
    ...answer.otherWarnings.map((error) => toIssue(error, undefined)),
  ];
  return { ok: found.length === 0, errors: found, warnings };
}

/** Cedar's error as an issue, located in `text` (the policy's or the schema's) when possible. */
export function toIssue(
  error: cedar.DetailedError,
  text: string | undefined,
  policyId?: string,
): CedarIssue {
  const message = error.help ? `${error.message} (${error.help})` : error.message;
  const offset = error.sourceLocations?.[0]?.start;
  const position =
    text !== undefined && offset !== undefined ? positionAt(text, offset) : undefined;
  return {
    ...(policyId !== undefined && { policyId }),
    ...(position !== undefined && position),
    message,
  };
}

/** A thrown value as text, for an error list. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
