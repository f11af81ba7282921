/**
 * The argument schema of a tool: a strict subset of JSON Schema (draft 2020-12 keywords), checked
 * once at declaration time by `checkArgSchema` and compiled once per tool version by `compileArgs`.
 *
 * Every node names one `type`; objects never accept undeclared fields; arrays always declare
 * `items`. `enum` and `const` hold JSON scalars only.
 */

/** A JSON value that is not a container: what `enum`, `const` and risk conditions compare. */
export type JsonScalar = string | number | boolean | null;

/** The `type` values of the subset. */
export const ARG_TYPES = [
  'object',
  'array',
  'string',
  'integer',
  'number',
  'boolean',
  'null',
] as const;
/** One of {@link ARG_TYPES}. */
export type ArgType = (typeof ARG_TYPES)[number];

/** The string `format`s the validator checks. */
export const STRING_FORMATS = ['email', 'uri', 'date-time', 'date', 'uuid'] as const;
/** One of {@link STRING_FORMATS}. */
export type StringFormat = (typeof STRING_FORMATS)[number];

/** Keywords every node may carry. */
interface ArgSchemaBase {
  readonly description?: string;
}

/** Keywords of scalar nodes: a fixed set or a single allowed value. */
interface ScalarArgSchemaBase extends ArgSchemaBase {
  readonly enum?: readonly JsonScalar[];
  readonly const?: JsonScalar;
}

/** An object with declared fields only: `additionalProperties` may only be written as `false`. */
export interface ObjectArgSchema extends ArgSchemaBase {
  readonly type: 'object';
  readonly properties?: Readonly<Record<string, ArgSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: false;
}

/** A list whose every item matches `items`. */
export interface ArrayArgSchema extends ArgSchemaBase {
  readonly type: 'array';
  readonly items: ArgSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
}

/** A string; lengths count Unicode code points, as JSON Schema does. */
export interface StringArgSchema extends ScalarArgSchemaBase {
  readonly type: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: StringFormat;
}

/** A number; `integer` accepts safe integers only (larger ones lose precision in JSON). */
export interface NumberArgSchema extends ScalarArgSchemaBase {
  readonly type: 'integer' | 'number';
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
}

/** `true` or `false`. */
export interface BooleanArgSchema extends ScalarArgSchemaBase {
  readonly type: 'boolean';
}

/** Only `null`. */
export interface NullArgSchema extends ScalarArgSchemaBase {
  readonly type: 'null';
}

/** One node of an argument schema. */
export type ArgSchema =
  | ObjectArgSchema
  | ArrayArgSchema
  | StringArgSchema
  | NumberArgSchema
  | BooleanArgSchema
  | NullArgSchema;

/** The keywords each `type` accepts (besides `type` itself). */
export const KEYWORDS_BY_TYPE: Readonly<Record<ArgType, readonly string[]>> = {
  object: ['description', 'properties', 'required', 'additionalProperties'],
  array: ['description', 'items', 'minItems', 'maxItems'],
  string: ['description', 'enum', 'const', 'minLength', 'maxLength', 'pattern', 'format'],
  integer: [
    'description',
    'enum',
    'const',
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
  ],
  number: [
    'description',
    'enum',
    'const',
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
  ],
  boolean: ['description', 'enum', 'const'],
  null: ['description', 'enum', 'const'],
};

/**
 * Property names: identifier-like, so a dotted arg path (`customer.email`) is unambiguous. Names
 * that reach `Object.prototype` through a plain property read are refused outright.
 */
export const PROPERTY_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** Names refused even though they match {@link PROPERTY_NAME_PATTERN}. */
export const RESERVED_PROPERTY_NAMES: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);
