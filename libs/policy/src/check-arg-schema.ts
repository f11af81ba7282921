import {
  ARG_TYPES,
  type ArgSchema,
  type ArgType,
  type JsonScalar,
  KEYWORDS_BY_TYPE,
  type ObjectArgSchema,
  PROPERTY_NAME_PATTERN,
  RESERVED_PROPERTY_NAMES,
  STRING_FORMATS,
  type StringFormat,
} from './arg-schema.js';
import { compileValueCheck } from './args-validator.js';
import { DECLARATION_LIMITS } from './limits.js';
import { type PathIssue, type PathSegment } from './paths.js';
import { unsafePatternReason } from './safe-pattern.js';

/** The outcome of checking an argument schema: the typed schema, or every problem with its path. */
export type ArgSchemaCheck =
  | { readonly ok: true; readonly schema: ObjectArgSchema }
  | { readonly ok: false; readonly issues: readonly PathIssue[] };

/** JSON Schema keywords we know and deliberately leave out, for a clearer message than "unknown". */
const OUTSIDE_SUBSET = new Set([
  '$schema',
  '$id',
  '$ref',
  '$defs',
  '$anchor',
  '$comment',
  'definitions',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'patternProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'unevaluatedProperties',
  'unevaluatedItems',
  'prefixItems',
  'additionalItems',
  'contains',
  'minContains',
  'maxContains',
  'uniqueItems',
  'multipleOf',
  'default',
  'examples',
  'title',
  'readOnly',
  'writeOnly',
  'deprecated',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'nullable',
]);

const LENGTH_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems'] as const;
const BOUND_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

/**
 * Checks an argument schema as written in a declaration (parsed YAML or JSON, so `unknown`) against
 * the supported subset and returns it typed, or every problem with its path below `args`. Anything
 * outside the subset is refused rather than ignored: a keyword the validator would skip is a
 * constraint the author believes is enforced and is not.
 */
export function checkArgSchema(raw: unknown): ArgSchemaCheck {
  if (raw === undefined) return { ok: false, issues: [{ path: [], message: 'is required' }] };
  const issues: PathIssue[] = [];
  const state = { nodes: 0, issues };
  if (isRecord(raw) && raw.type !== undefined && raw.type !== 'object') {
    issues.push({ path: ['type'], message: 'the args schema must be of type "object"' });
  }
  checkNode(raw, [], 1, state);
  if (issues.length > 0) return { ok: false, issues };
  // Every node was checked above, so the value has exactly the shape of the types.
  return { ok: true, schema: raw as ObjectArgSchema };
}

/**
 * Checks one node of an argument schema, of any type, and returns it typed or `undefined`: used
 * to check risk condition values against a field even when another part of the schema is invalid.
 */
export function checkArgNode(raw: unknown): ArgSchema | undefined {
  const state: CheckState = { nodes: 0, issues: [] };
  checkNode(raw, [], 1, state);
  return state.issues.length === 0 ? (raw as ArgSchema) : undefined;
}

interface CheckState {
  nodes: number;
  readonly issues: PathIssue[];
}

function checkNode(raw: unknown, path: PathSegment[], depth: number, state: CheckState): void {
  const fail = (message: string, at: PathSegment[] = path): void => {
    state.issues.push({ path: at, message });
  };
  state.nodes++;
  if (state.nodes === DECLARATION_LIMITS.maxSchemaNodes + 1) {
    fail(`the args schema has more than ${DECLARATION_LIMITS.maxSchemaNodes} nodes`);
  }
  if (state.nodes > DECLARATION_LIMITS.maxSchemaNodes) return;
  if (!isRecord(raw)) {
    fail('must be a schema (a mapping with a "type")');
    return;
  }
  if (depth > DECLARATION_LIMITS.maxSchemaDepth) {
    fail(`nests deeper than ${DECLARATION_LIMITS.maxSchemaDepth} levels`);
    return;
  }
  const type = raw.type;
  if (type === undefined) {
    fail(`"type" is required (one of ${ARG_TYPES.join(', ')})`, [...path, 'type']);
    return;
  }
  if (!isArgType(type)) {
    fail(
      Array.isArray(type)
        ? 'a list of types is not supported: declare one type (optional fields are simply not required)'
        : `unsupported type ${JSON.stringify(type)}: one of ${ARG_TYPES.join(', ')}`,
      [...path, 'type'],
    );
    return;
  }
  const allowed = KEYWORDS_BY_TYPE[type];
  for (const key of Object.keys(raw)) {
    if (key === 'type' || allowed.includes(key)) continue;
    const at = [...path, key];
    if (OUTSIDE_SUBSET.has(key)) fail(`"${key}" is outside the supported JSON Schema subset`, at);
    else if (ARG_TYPES.some((other) => KEYWORDS_BY_TYPE[other].includes(key))) {
      fail(`"${key}" does not apply to type ${type}`, at);
    } else fail(`unknown keyword "${key}"`, at);
  }
  const before = state.issues.length;
  if (
    raw.description !== undefined &&
    !(typeof raw.description === 'string' && raw.description.length <= 2048)
  ) {
    fail('must be a string of at most 2048 characters', [...path, 'description']);
  }
  for (const key of LENGTH_KEYWORDS) {
    if (allowed.includes(key) && raw[key] !== undefined && !isCount(raw[key])) {
      fail('must be a non-negative integer', [...path, key]);
    }
  }
  for (const key of BOUND_KEYWORDS) {
    if (allowed.includes(key) && raw[key] !== undefined && !isFiniteNumber(raw[key])) {
      fail('must be a finite number', [...path, key]);
    }
  }
  switch (type) {
    case 'object':
      checkObject(raw, path, depth, state);
      break;
    case 'array':
      checkArray(raw, path, depth, state);
      break;
    case 'string':
      checkString(raw, path, state);
      break;
    case 'integer':
    case 'number':
      checkBounds(raw, path, state);
      break;
    case 'boolean':
    case 'null':
      break;
  }
  if (state.issues.length === before && (raw.enum !== undefined || raw.const !== undefined)) {
    checkEnumAndConst(raw, type, path, state);
  }
}

function checkObject(
  raw: Record<string, unknown>,
  path: PathSegment[],
  depth: number,
  state: CheckState,
): void {
  const { properties, required, additionalProperties } = raw;
  if (additionalProperties !== undefined && additionalProperties !== false) {
    state.issues.push({
      path: [...path, 'additionalProperties'],
      message: 'must be false or absent: undeclared fields are always rejected',
    });
  }
  let names: string[] = [];
  if (properties !== undefined) {
    if (!isRecord(properties)) {
      state.issues.push({
        path: [...path, 'properties'],
        message: 'must be a mapping of field names to schemas',
      });
    } else {
      names = Object.keys(properties);
      if (names.length > DECLARATION_LIMITS.maxProperties) {
        state.issues.push({
          path: [...path, 'properties'],
          message: `declares more than ${DECLARATION_LIMITS.maxProperties} fields`,
        });
        return;
      }
      for (const name of names) {
        const at = [...path, 'properties', name];
        if (!PROPERTY_NAME_PATTERN.test(name) || RESERVED_PROPERTY_NAMES.has(name)) {
          state.issues.push({
            path: at,
            message: RESERVED_PROPERTY_NAMES.has(name)
              ? `"${name}" is reserved and cannot name a field`
              : 'a field name must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or "_"',
          });
          continue;
        }
        checkNode(properties[name], at, depth + 1, state);
      }
    }
  }
  if (required !== undefined) {
    if (!Array.isArray(required)) {
      state.issues.push({ path: [...path, 'required'], message: 'must be a list of field names' });
      return;
    }
    const seen = new Set<unknown>();
    required.forEach((name: unknown, index) => {
      const at = [...path, 'required', index];
      if (typeof name !== 'string')
        state.issues.push({ path: at, message: 'must be a field name' });
      else if (!names.includes(name)) {
        state.issues.push({
          path: at,
          message: `"${name}" is required but not declared in properties`,
        });
      } else if (seen.has(name))
        state.issues.push({ path: at, message: `"${name}" is listed twice` });
      seen.add(name);
    });
  }
}

function checkArray(
  raw: Record<string, unknown>,
  path: PathSegment[],
  depth: number,
  state: CheckState,
): void {
  if (raw.items === undefined) {
    state.issues.push({
      path: [...path, 'items'],
      message: 'is required: every array declares the schema of its items',
    });
  } else {
    checkNode(raw.items, [...path, 'items'], depth + 1, state);
  }
  const { minItems, maxItems } = raw;
  if (isCount(maxItems) && maxItems > DECLARATION_LIMITS.maxArrayItems) {
    state.issues.push({
      path: [...path, 'maxItems'],
      message: `must be at most ${DECLARATION_LIMITS.maxArrayItems}`,
    });
  }
  if (isCount(minItems) && isCount(maxItems) && minItems > maxItems) {
    state.issues.push({ path: [...path, 'minItems'], message: 'must not exceed maxItems' });
  }
}

function checkString(raw: Record<string, unknown>, path: PathSegment[], state: CheckState): void {
  const { minLength, maxLength, pattern, format } = raw;
  if (isCount(minLength) && isCount(maxLength) && minLength > maxLength) {
    state.issues.push({ path: [...path, 'minLength'], message: 'must not exceed maxLength' });
  }
  if (pattern !== undefined) {
    const at = [...path, 'pattern'];
    if (typeof pattern !== 'string') state.issues.push({ path: at, message: 'must be a string' });
    else {
      const unsafe = unsafePatternReason(pattern);
      if (unsafe !== undefined)
        state.issues.push({ path: at, message: `is refused: it ${unsafe}` });
      const limit = DECLARATION_LIMITS.maxPatternSubjectLength;
      if (!(isCount(maxLength) && maxLength <= limit)) {
        state.issues.push({
          path: at,
          message: `needs a maxLength of at most ${limit} beside it, so matching time stays bounded`,
        });
      }
    }
  }
  if (format !== undefined && !STRING_FORMATS.includes(format as StringFormat)) {
    state.issues.push({
      path: [...path, 'format'],
      message: `unsupported format ${JSON.stringify(format)}: one of ${STRING_FORMATS.join(', ')}`,
    });
  }
}

function checkBounds(raw: Record<string, unknown>, path: PathSegment[], state: CheckState): void {
  const lower = [raw.minimum, raw.exclusiveMinimum].filter(isFiniteNumber);
  const upper = [raw.maximum, raw.exclusiveMaximum].filter(isFiniteNumber);
  if (lower.length > 0 && upper.length > 0 && Math.max(...lower) > Math.min(...upper)) {
    state.issues.push({
      path,
      message: 'the lower bound exceeds the upper bound: no number is valid',
    });
  }
}

/** Each `enum` member and the `const` must be a scalar the node itself accepts. */
function checkEnumAndConst(
  raw: Record<string, unknown>,
  type: ArgType,
  path: PathSegment[],
  state: CheckState,
): void {
  const { enum: members, const: constant, ...rest } = raw;
  // The node without enum/const: what the members are checked against.
  const accepts = compileValueCheck(rest as unknown as ArgSchema);
  const checkMember = (value: unknown, at: PathSegment[]): void => {
    if (!isScalar(value)) {
      state.issues.push({ path: at, message: 'must be a string, number, boolean or null' });
      return;
    }
    const reason = accepts(value);
    if (reason !== undefined) {
      state.issues.push({
        path: at,
        message: `${JSON.stringify(value)} is not a valid ${type}: it ${reason}`,
      });
    }
  };
  if (members !== undefined) {
    const at = [...path, 'enum'];
    if (!Array.isArray(members) || members.length === 0) {
      state.issues.push({ path: at, message: 'must be a non-empty list' });
    } else if (members.length > DECLARATION_LIMITS.maxEnumValues) {
      state.issues.push({
        path: at,
        message: `must list at most ${DECLARATION_LIMITS.maxEnumValues} values`,
      });
    } else {
      const seen = new Set<unknown>();
      members.forEach((member: unknown, index) => {
        if (seen.has(member))
          state.issues.push({ path: [...at, index], message: 'is listed twice' });
        seen.add(member);
        checkMember(member, [...at, index]);
      });
    }
  }
  if (constant !== undefined) checkMember(constant, [...path, 'const']);
}

function isArgType(value: unknown): value is ArgType {
  return typeof value === 'string' && (ARG_TYPES as readonly string[]).includes(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isScalar(value: unknown): value is JsonScalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
