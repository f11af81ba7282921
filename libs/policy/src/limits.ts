/**
 * Bounds that keep declaration parsing and argument validation cheap and total on hostile input.
 * They are deliberately generous for real tools and small enough that no input can exhaust the
 * stack, the heap or the event loop.
 */
export const DECLARATION_LIMITS = {
  /** Declaration text, in UTF-16 units: the size of an event payload (DESIGN §3). */
  maxTextLength: 256 * 1024,
  /** Nesting of the parsed declaration; keeps zod's and our own recursion shallow. */
  maxDeclarationDepth: 64,
  /** Nesting of the argument schema (object/array levels). Args can never be deeper than this. */
  maxSchemaDepth: 16,
  /** Schema nodes in one argument schema. */
  maxSchemaNodes: 2_000,
  /** Properties of one object schema. */
  maxProperties: 256,
  /** Values of one `enum`. */
  maxEnumValues: 1_000,
  /** Upper bound for a declared `maxItems`, and the cap for arrays that declare none. */
  maxArrayItems: 10_000,
  /** Upper bound for a declared `maxLength` when the string also has a `pattern`. */
  maxPatternSubjectLength: 1_024,
  /** Length of a `pattern` source. */
  maxPatternLength: 256,
  /** Risk rules per tool. */
  maxRiskRules: 64,
  /** Errors reported for one declaration; the rest are summarised in one last error. */
  maxErrors: 200,
} as const;

/** Run-time bounds of a compiled validator; see {@link CompileArgsOptions}. */
export const ARGS_LIMITS = {
  /** Nesting of an args value: the root object is depth 1. */
  maxDepth: 32,
  /** Approximate JSON size of an args value, in UTF-16 units. */
  maxSize: 256 * 1024,
  /** Violations reported for one value; the rest are summarised in one last violation. */
  maxViolations: 100,
} as const;
