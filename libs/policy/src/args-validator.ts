import {
  type ArgSchema,
  type ArrayArgSchema,
  type JsonScalar,
  type NumberArgSchema,
  type ObjectArgSchema,
  type StringArgSchema,
} from './arg-schema.js';
import { ARGS_LIMITS, DECLARATION_LIMITS } from './limits.js';
import { formatPath, type PathSegment } from './paths.js';
import { matchesFormat } from './string-formats.js';

/** One reason the args were refused, at a dotted path into them (`''` is the args object). */
export interface Violation {
  readonly path: string;
  readonly message: string;
}

/** The outcome of validating args: the same value when valid, otherwise every violation. */
export type ArgsValidation =
  | { readonly ok: true; readonly value: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly violations: readonly Violation[] };

/** A compiled argument validator. Total: it never throws, whatever it is given. */
export type ArgsValidator = (args: unknown) => ArgsValidation;

/** Run-time bounds; defaults in {@link ARGS_LIMITS}. */
export interface CompileArgsOptions {
  /** Deepest nesting accepted (the args object is depth 1). */
  readonly maxDepth?: number;
  /** Largest approximate JSON size accepted, in UTF-16 units. */
  readonly maxSize?: number;
  /** Violations listed before the rest are summarised. */
  readonly maxViolations?: number;
}

/** State of one validation: the current path and what was found so far. */
interface Walk {
  readonly path: PathSegment[];
  readonly violations: Violation[];
  readonly maxViolations: number;
  full: boolean;
}

type Check = (value: unknown, walk: Walk) => void;

/**
 * Compiles a checked argument schema (the `args` of a parsed tool declaration) into a validator.
 * Compile once per tool version and keep the function: compiling builds closures, regexes and
 * lookup maps, validating only runs them.
 *
 * The validator first measures the value without recursion (depth, approximate size), so a deep,
 * huge or cyclic value is refused before the schema is applied; then it applies the schema and
 * collects every violation, up to `maxViolations`. Unknown fields are always violations, and
 * declared fields are looked up in a `Map`, so keys such as `__proto__` never reach a prototype.
 * A valid value is returned as it was given (not copied): treat it as read-only.
 */
export function compileArgs(
  schema: ObjectArgSchema,
  options: CompileArgsOptions = {},
): ArgsValidator {
  const maxDepth = options.maxDepth ?? ARGS_LIMITS.maxDepth;
  const maxSize = options.maxSize ?? ARGS_LIMITS.maxSize;
  const maxViolations = options.maxViolations ?? ARGS_LIMITS.maxViolations;
  const check = compileNode(schema);
  return (args) => {
    try {
      const limit = exceededLimit(args, maxDepth, maxSize);
      if (limit !== undefined) return { ok: false, violations: [limit] };
      const walk: Walk = { path: [], violations: [], maxViolations, full: false };
      check(args, walk);
      if (walk.violations.length === 0) {
        return { ok: true, value: args as Readonly<Record<string, unknown>> };
      }
      if (walk.full) {
        walk.violations.push({
          path: '',
          message: `more violations not listed (the first ${maxViolations} are)`,
        });
      }
      return { ok: false, violations: walk.violations };
    } catch {
      // Only a hostile in-process value (a throwing getter or Proxy trap) gets here; JSON cannot.
      return { ok: false, violations: [{ path: '', message: 'could not be read as JSON data' }] };
    }
  };
}

/**
 * Compiles one schema node into a function that returns the first reason `value` does not match,
 * or `undefined`. Used to check `enum` members and condition values against the declared type.
 */
export function compileValueCheck(schema: ArgSchema): (value: unknown) => string | undefined {
  const check = compileNode(schema);
  return (value) => {
    try {
      const walk: Walk = { path: [], violations: [], maxViolations: 1, full: false };
      check(value, walk);
      const first = walk.violations[0];
      return first === undefined
        ? undefined
        : first.path === ''
          ? first.message
          : `${first.path}: ${first.message}`;
    } catch {
      return 'could not be read as JSON data';
    }
  };
}

function report(walk: Walk, message: string, segment?: PathSegment): void {
  if (walk.violations.length >= walk.maxViolations) {
    walk.full = true;
    return;
  }
  const path = segment === undefined ? walk.path : [...walk.path, segment];
  walk.violations.push({ path: formatPath(path), message });
}

function compileNode(schema: ArgSchema): Check {
  switch (schema.type) {
    case 'object':
      return compileObject(schema);
    case 'array':
      return compileArray(schema);
    case 'string':
      return withScalarChecks(schema, compileString(schema));
    case 'integer':
    case 'number':
      return withScalarChecks(schema, compileNumber(schema));
    case 'boolean':
      return withScalarChecks(schema, (value, walk) => {
        if (typeof value !== 'boolean') report(walk, `must be a boolean, not ${describe(value)}`);
      });
    case 'null':
      return withScalarChecks(schema, (value, walk) => {
        if (value !== null) report(walk, `must be null, not ${describe(value)}`);
      });
  }
}

function compileObject(schema: ObjectArgSchema): Check {
  const fields = new Map<string, Check>();
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    fields.set(name, compileNode(child));
  }
  const required = new Set(schema.required ?? []);
  return (value, walk) => {
    if (!isPlainObject(value)) {
      report(walk, `must be an object, not ${describe(value)}`);
      return;
    }
    for (const key of Object.keys(value)) {
      if (walk.full) return;
      if (!fields.has(key)) report(walk, 'is not a declared field', key);
    }
    for (const [name, check] of fields) {
      if (walk.full) return;
      const field = Object.hasOwn(value, name) ? value[name] : undefined;
      // An own key holding `undefined` (possible in-process, never from JSON) counts as absent.
      if (field === undefined) {
        if (required.has(name)) report(walk, 'is required', name);
        continue;
      }
      walk.path.push(name);
      check(field, walk);
      walk.path.pop();
    }
  };
}

function compileArray(schema: ArrayArgSchema): Check {
  const item = compileNode(schema.items);
  const minItems = schema.minItems ?? 0;
  const maxItems = schema.maxItems ?? DECLARATION_LIMITS.maxArrayItems;
  return (value, walk) => {
    if (!Array.isArray(value)) {
      report(walk, `must be an array, not ${describe(value)}`);
      return;
    }
    if (value.length < minItems)
      report(walk, `must have at least ${minItems} items (has ${value.length})`);
    if (value.length > maxItems) {
      // Do not walk a list that is refused anyway: its size is the attacker's choice.
      report(walk, `must have at most ${maxItems} items (has ${value.length})`);
      return;
    }
    for (let index = 0; index < value.length; index++) {
      if (walk.full) return;
      walk.path.push(index);
      item(value[index], walk);
      walk.path.pop();
    }
  };
}

function compileString(schema: StringArgSchema): Check {
  const { minLength, maxLength, format } = schema;
  const pattern = compilePattern(schema.pattern);
  return (value, walk) => {
    if (typeof value !== 'string') {
      report(walk, `must be a string, not ${describe(value)}`);
      return;
    }
    const length = codePointLength(value);
    if (minLength !== undefined && length < minLength) {
      report(walk, `must be at least ${minLength} characters long (is ${length})`);
    }
    if (maxLength !== undefined && length > maxLength) {
      // The pattern is not tried on an over-long string: its matching time is bounded by maxLength.
      report(walk, `must be at most ${maxLength} characters long (is ${length})`);
      return;
    }
    if (pattern !== undefined && !pattern.test(value)) {
      report(walk, `must match the pattern ${pattern.source}`);
    }
    if (format !== undefined && !matchesFormat(value, format))
      report(walk, `must be a valid ${format}`);
  };
}

/** A compiled pattern; an uncompilable one (never from a checked schema) refuses every string. */
function compilePattern(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source, 'u');
  } catch {
    return /(?!)/u;
  }
}

function compileNumber(schema: NumberArgSchema): Check {
  const { type, minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  return (value, walk) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      report(
        walk,
        `must be ${type === 'integer' ? 'an integer' : 'a number'}, not ${describe(value)}`,
      );
      return;
    }
    if (type === 'integer' && !Number.isInteger(value)) {
      report(walk, `must be an integer, not ${describe(value)}`);
      return;
    }
    if (type === 'integer' && !Number.isSafeInteger(value)) {
      report(walk, 'must be an integer between -(2^53-1) and 2^53-1');
      return;
    }
    if (minimum !== undefined && value < minimum)
      report(walk, `must be ≥ ${minimum} (is ${value})`);
    if (maximum !== undefined && value > maximum)
      report(walk, `must be ≤ ${maximum} (is ${value})`);
    if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) {
      report(walk, `must be > ${exclusiveMinimum} (is ${value})`);
    }
    if (exclusiveMaximum !== undefined && value >= exclusiveMaximum) {
      report(walk, `must be < ${exclusiveMaximum} (is ${value})`);
    }
  };
}

/** Adds `enum` and `const` after the type's own checks, once the type is right. */
function withScalarChecks(
  schema: { readonly enum?: readonly JsonScalar[]; readonly const?: JsonScalar },
  check: Check,
): Check {
  const members = schema.enum === undefined ? undefined : new Set<unknown>(schema.enum);
  const hasConst = schema.const !== undefined;
  if (members === undefined && !hasConst) return check;
  const listed = schema.enum === undefined ? '' : listValues(schema.enum);
  const constant = schema.const;
  return (value, walk) => {
    const before = walk.violations.length;
    check(value, walk);
    if (walk.violations.length > before || walk.full) return;
    if (members !== undefined && !members.has(value)) report(walk, `must be one of ${listed}`);
    if (hasConst && value !== constant) report(walk, `must be ${JSON.stringify(constant)}`);
  };
}

function listValues(values: readonly JsonScalar[]): string {
  const shown = values.slice(0, 10).map((v) => JSON.stringify(v));
  return values.length > 10 ? `${shown.join(', ')}, … (${values.length} values)` : shown.join(', ');
}

/** Code points, as JSON Schema counts string length: a surrogate pair is one character. */
function codePointLength(value: string): number {
  let pairs = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const previous = value.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) pairs++;
    }
  }
  return value.length - pairs;
}

/** Only data a JSON parser could have produced counts as an object: no class instances, no Map. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value's JSON type for messages; never echoes the value itself (it may be personal data). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  if (type === 'number') {
    const n = value as number;
    return Number.isFinite(n)
      ? Number.isInteger(n)
        ? 'an integer'
        : 'a number'
      : 'a non-finite number';
  }
  if (type === 'object') return isPlainObject(value) ? 'an object' : 'a non-JSON object';
  // undefined, bigint, symbol and function can only come from an in-process caller.
  return type === 'undefined' ? 'undefined' : `a ${type}`;
}

interface Pending {
  readonly value: object;
  readonly depth: number;
  readonly path: PathNode | undefined;
}

interface PathNode {
  readonly parent: PathNode | undefined;
  readonly segment: PathSegment;
}

/**
 * The first bound `value` exceeds, found without recursion so no input can overflow the stack.
 * Size is an estimate of the JSON text (strings and keys by length, other scalars 8); shared or
 * cyclic references are counted on every visit, so they hit the depth or size bound too.
 */
function exceededLimit(value: unknown, maxDepth: number, maxSize: number): Violation | undefined {
  let size = 0;
  const stack: Pending[] = [];
  const visit = (
    child: unknown,
    depth: number,
    parent: PathNode | undefined,
    segment: PathSegment | undefined,
  ): Violation | undefined => {
    if (typeof child === 'string') {
      size += child.length + 2;
    } else if (
      typeof child === 'object' &&
      child !== null &&
      (Array.isArray(child) || isPlainObject(child))
    ) {
      // Path nodes are made for containers only: scalars, the bulk of any value, allocate nothing.
      const path = segment === undefined ? parent : { parent, segment };
      if (depth > maxDepth) {
        return {
          path: formatPath(segmentsOf(path)),
          message: `nests deeper than ${maxDepth} levels`,
        };
      }
      size += 2;
      stack.push({ value: child, depth, path });
    } else {
      size += 8;
    }
    return undefined;
  };
  const first = visit(value, 1, undefined, undefined);
  if (first !== undefined) return first;
  while (stack.length > 0) {
    if (size > maxSize) break;
    const next = stack.pop();
    if (next === undefined) break;
    if (Array.isArray(next.value)) {
      const items: readonly unknown[] = next.value;
      for (let index = 0; index < items.length && size <= maxSize; index++) {
        size += 1;
        const found = visit(items[index], next.depth + 1, next.path, index);
        if (found !== undefined) return found;
      }
    } else {
      const record = next.value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (size > maxSize) break;
        size += key.length + 3;
        const found = visit(record[key], next.depth + 1, next.path, key);
        if (found !== undefined) return found;
      }
    }
  }
  return size > maxSize
    ? { path: '', message: `is larger than ${maxSize} characters of JSON` }
    : undefined;
}

function segmentsOf(node: PathNode | undefined): PathSegment[] {
  const segments: PathSegment[] = [];
  for (let at = node; at !== undefined; at = at.parent) segments.push(at.segment);
  return segments.reverse();
}
