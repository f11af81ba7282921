import { type ObjectArgSchema } from './arg-schema.js';
import { compileArgs } from './args-validator.js';
import { deriveRisk, type RiskSource } from './derive-risk.js';

/** A typical six-field tool schema: ids, enums, a bounded string, a list, a nested object, a format. */
export const SIX_FIELD_SCHEMA: ObjectArgSchema = {
  type: 'object',
  required: ['ticket_id', 'status'],
  properties: {
    ticket_id: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: ['new', 'open', 'pending', 'hold', 'solved', 'closed'] },
    priority: { type: 'string', enum: ['low', 'normal', 'high', 'urgent'] },
    assignee_email: { type: 'string', format: 'email', maxLength: 254 },
    tags: {
      type: 'array',
      maxItems: 20,
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$', maxLength: 64 },
    },
    comment: {
      type: 'object',
      required: ['body'],
      properties: { body: { type: 'string', maxLength: 4000 }, public: { type: 'boolean' } },
    },
  },
};

/** Valid args for {@link SIX_FIELD_SCHEMA}, about 230 bytes of JSON. */
export const VALID_ARGS = {
  ticket_id: 48213,
  status: 'solved',
  priority: 'high',
  assignee_email: 'ann.lee@example.com',
  tags: ['billing', 'refund', 'duplicate-charge'],
  comment: { body: 'Refunded the duplicate charge; closing.', public: true },
};

/** The same args with four violations (unknown field, enum, range, length). */
export const INVALID_ARGS = {
  ...VALID_ARGS,
  ticket_id: 0,
  status: 'reopened',
  comment: { body: 'x'.repeat(4001) },
  escalate: true,
};

const RISK: RiskSource = {
  kind: 'write',
  pii: ['assignee_email', 'comment.body'],
  risk: [{ flag: 'bulk', when: { path: 'tags', op: 'count_gt', value: 10 } }],
};

/** Microseconds per call of each measured operation. */
export interface ArgsValidationBenchResult {
  readonly validMicros: number;
  readonly invalidMicros: number;
  readonly deriveRiskMicros: number;
  readonly compileMicros: number;
}

function microsPerCall(run: () => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) run();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) run();
  return ((performance.now() - start) * 1000) / iterations;
}

/**
 * Measures a compiled validator on valid and invalid six-field args, risk derivation, and
 * compilation itself, after a warm-up. Not a test: for `npm run bench` and the README figures.
 */
export function benchArgsValidation(iterations = 200_000): ArgsValidationBenchResult {
  const validate = compileArgs(SIX_FIELD_SCHEMA);
  return {
    validMicros: microsPerCall(() => validate(VALID_ARGS), iterations),
    invalidMicros: microsPerCall(() => validate(INVALID_ARGS), iterations),
    deriveRiskMicros: microsPerCall(() => deriveRisk(RISK, VALID_ARGS), iterations),
    compileMicros: microsPerCall(() => compileArgs(SIX_FIELD_SCHEMA), Math.ceil(iterations / 20)),
  };
}
