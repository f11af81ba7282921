import { MicroUsd, SubjectToken, ToolName } from '@warden/contracts';
import { z } from 'zod';
import { type ObjectArgSchema } from './arg-schema.js';
import { ArgPath, resolveSchemaPath } from './arg-paths.js';
import { compileValueCheck } from './args-validator.js';
import { checkArgNode, checkArgSchema } from './check-arg-schema.js';
import { DECLARATION_LIMITS } from './limits.js';
import { type PathIssue, type PathSegment } from './paths.js';
import { Condition, type LeafCondition, leavesOf } from './risk-condition.js';

/**
 * Risk flags Cedar policies test. The five named in DESIGN §6 always appear in derived risk; a
 * tool may add its own snake_case flags. `write` is not a rule flag: it comes from `kind`.
 */
export const STANDARD_RISK_FLAGS = ['bulk', 'money', 'pii', 'permission', 'production'] as const;

/** A risk flag name: a standard one or a tool's own snake_case flag. */
export const RiskFlagName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, {
    error: 'must be a snake_case flag name (bulk, money, pii, …)',
  })
  .refine((flag) => flag !== 'write', {
    error: '"write" is derived from kind and cannot be a rule',
  });

/** "Raise `flag` when `when` holds for the args." */
export const RiskRule = z.strictObject({
  flag: RiskFlagName,
  when: Condition,
  /** Why the rule exists, for reviewers of the declaration. */
  description: z.string().max(512).optional(),
});
export type RiskRule = z.infer<typeof RiskRule>;

/**
 * Where and how the tool executor runs the tool. Only the executor interprets it: here the three
 * common fields are checked and anything else an adapter needs is passed through untouched.
 */
export const ExecutorSection = z.looseObject({
  adapter: z.enum(['http', 'nats', 'builtin']),
  target: z.string().min(1).max(2048),
  /** A reference into the executor's secret store (per env), never the secret itself. */
  secret_ref: z.string().min(1).max(256).optional(),
});
export type ExecutorSection = z.infer<typeof ExecutorSection>;

/** The argument schema field: checked by `checkArgSchema`, which reports every problem. */
const ArgsField = z.unknown().transform((raw, ctx): ObjectArgSchema => {
  const checked = checkArgSchema(raw);
  if (checked.ok) return checked.schema;
  for (const issue of checked.issues)
    ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  return z.NEVER;
});

const PiiField = z
  .array(ArgPath)
  .max(256)
  .refine(isUnique, { error: 'lists a path twice' })
  .default([]);
const RiskField = z.array(RiskRule).max(DECLARATION_LIMITS.maxRiskRules).default([]);

const ToolDeclarationShape = z.strictObject({
  name: ToolName,
  version: z.number().int().positive(),
  kind: z.enum(['read', 'write']),
  /** The business domain, a subject token (`support`), matched by Cedar against the agent's. */
  domain: SubjectToken,
  groups: z.array(SubjectToken).min(1).max(32).refine(isUnique, { error: 'lists a group twice' }),
  description: z.string().min(1).max(2048),
  args: ArgsField,
  /** Arg paths that hold personal data: redacted in the log, and they raise the `pii` flag. */
  pii: PiiField,
  risk: RiskField,
  cost: z.strictObject({ per_call_micro_usd: MicroUsd }),
  /** Whether the upstream honours an Idempotency-Key, so an interrupted call may be re-sent. */
  idempotency_keys: z.boolean().default(false),
  executor: ExecutorSection,
});

/**
 * A tool declaration (issue 5): what a tool is, the exact args it accepts, which of them are
 * personal data, when a call is risky, what it costs and how it is executed. Paths in `pii` and in
 * risk conditions must exist in `args`, and condition values must fit the type they compare.
 */
export const ToolDeclaration = ToolDeclarationShape.superRefine((tool, ctx) => {
  for (const issue of referenceIssuesOfRaw(tool)) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  }
});
export type ToolDeclaration = z.output<typeof ToolDeclaration>;

/**
 * The cross-field problems of a declaration: every `pii` path and every condition path must name
 * a declared field, each operator must fit that field's type, and each compared value must be one
 * the field can hold. Reads the declaration as `unknown` and checks entry by entry, because zod
 * skips refinements once any field fails and `parseToolDeclaration` reports every error at once.
 */
export function referenceIssuesOfRaw(raw: Record<string, unknown>): PathIssue[] {
  const issues: PathIssue[] = [];
  const args = raw.args;
  if (Array.isArray(raw.pii)) {
    (raw.pii as readonly unknown[]).forEach((path, index) => {
      if (typeof path !== 'string') return;
      const found = resolveSchemaPath(args, path);
      if ('error' in found) issues.push({ path: ['pii', index], message: found.error });
    });
  }
  if (Array.isArray(raw.risk)) {
    (raw.risk as readonly unknown[]).forEach((rule, index) => {
      const when = Condition.safeParse(
        typeof rule === 'object' && rule !== null ? (rule as { when?: unknown }).when : undefined,
      );
      if (!when.success) return;
      for (const { leaf, at } of leavesOf(when.data)) {
        const where: PathSegment[] = ['risk', index, 'when', ...at];
        const found = resolveSchemaPath(args, leaf.path);
        if ('error' in found) {
          issues.push({ path: [...where, 'path'], message: found.error });
          continue;
        }
        const mismatch = leafMismatch(leaf, found.node, found.type);
        if (mismatch !== undefined)
          issues.push({ path: [...where, mismatch.field], message: mismatch.message });
      }
    });
  }
  return issues;
}

/** Why an operator cannot apply to the node its path names, or its value cannot occur there. */
function leafMismatch(
  leaf: LeafCondition,
  node: unknown,
  type: string | undefined,
): { field: 'op' | 'value'; message: string } | undefined {
  switch (leaf.op) {
    case 'present':
      return undefined;
    case 'count_gt':
      return type === 'array' || type === undefined
        ? undefined
        : { field: 'op', message: `count_gt needs a list, but "${leaf.path}" is a ${type}` };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return type === 'integer' || type === 'number' || type === undefined
        ? undefined
        : { field: 'op', message: `${leaf.op} needs a number, but "${leaf.path}" is a ${type}` };
    case 'eq':
    case 'in': {
      // An invalid field is reported where it is declared; its values cannot be judged here.
      const schema = checkArgNode(node);
      if (schema === undefined) return undefined;
      const accepts = compileValueCheck(schema);
      const values = leaf.op === 'eq' ? [leaf.value] : leaf.value;
      for (const value of values) {
        const reason = accepts(value);
        if (reason !== undefined) {
          return {
            field: 'value',
            message: `${JSON.stringify(value)} can never be the value of "${leaf.path}": it ${reason}`,
          };
        }
      }
      return undefined;
    }
  }
}

function isUnique(values: readonly unknown[]): boolean {
  return new Set(values).size === values.length;
}
