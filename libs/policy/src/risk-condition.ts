import { z } from 'zod';
import { type JsonScalar } from './arg-schema.js';
import { ArgPath, collectArgValues, parseArgPath } from './arg-paths.js';

/** A JSON scalar, as conditions compare them. */
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A test on the values at one arg path; true when any value the path reaches passes. */
export type LeafCondition =
  | { readonly path: string; readonly op: 'present' }
  | { readonly path: string; readonly op: 'count_gt'; readonly value: number }
  | { readonly path: string; readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly value: number }
  | { readonly path: string; readonly op: 'eq'; readonly value: JsonScalar }
  | { readonly path: string; readonly op: 'in'; readonly value: readonly JsonScalar[] };

/** The condition language of risk rules: tests on arg paths, combined with `all` and `any`. */
export type Condition =
  LeafCondition | { readonly all: readonly Condition[] } | { readonly any: readonly Condition[] };

/** The operators of {@link LeafCondition}. */
export type ConditionOp = LeafCondition['op'];

const LeafCondition = z.discriminatedUnion('op', [
  z.strictObject({ path: ArgPath, op: z.literal('present') }),
  z.strictObject({ path: ArgPath, op: z.literal('count_gt'), value: z.number().int().min(0) }),
  z.strictObject({ path: ArgPath, op: z.enum(['gt', 'gte', 'lt', 'lte']), value: z.number() }),
  z.strictObject({ path: ArgPath, op: z.literal('eq'), value: Scalar }),
  z.strictObject({ path: ArgPath, op: z.literal('in'), value: z.array(Scalar).min(1).max(1000) }),
]);

/** Zod schema of {@link Condition}. `all`/`any` take 1-16 conditions. */
export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(Condition).min(1).max(16) }),
    z.strictObject({ any: z.array(Condition).min(1).max(16) }),
    LeafCondition,
  ]),
);

/**
 * Whether `condition` holds for `args`. Total by construction: every operator checks the type of
 * what it compares and treats anything else as "does not hold", reads own properties only, and
 * never throws. Conditions are evaluated on validated args, but need not be.
 */
export function evaluateCondition(condition: Condition, args: unknown): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluateCondition(c, args));
  if ('any' in condition) return condition.any.some((c) => evaluateCondition(c, args));
  const segments = parseArgPath(condition.path);
  if (segments === undefined) return false;
  return collectArgValues(args, segments).some((value) => holds(condition, value));
}

function holds(condition: LeafCondition, value: unknown): boolean {
  switch (condition.op) {
    case 'present':
      return value !== null;
    case 'count_gt':
      return Array.isArray(value) && value.length > condition.value;
    case 'gt':
      return typeof value === 'number' && value > condition.value;
    case 'gte':
      return typeof value === 'number' && value >= condition.value;
    case 'lt':
      return typeof value === 'number' && value < condition.value;
    case 'lte':
      return typeof value === 'number' && value <= condition.value;
    case 'eq':
      return value === condition.value;
    case 'in':
      return condition.value.includes(value as JsonScalar);
  }
}

/** Every leaf of a condition, for checks that apply to each test (paths, value types). */
export function leavesOf(
  condition: Condition,
  at: readonly (string | number)[] = [],
): { leaf: LeafCondition; at: (string | number)[] }[] {
  if ('all' in condition) return condition.all.flatMap((c, i) => leavesOf(c, [...at, 'all', i]));
  if ('any' in condition) return condition.any.flatMap((c, i) => leavesOf(c, [...at, 'any', i]));
  return [{ leaf: condition, at: [...at] }];
}
