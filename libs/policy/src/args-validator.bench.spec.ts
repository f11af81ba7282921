import { describe, expect, it } from 'vitest';
import { compileArgs } from './args-validator.js';
import {
  INVALID_ARGS,
  SIX_FIELD_SCHEMA,
  VALID_ARGS,
  benchArgsValidation,
} from './args-validator.bench.js';

// Keeps the bench's samples honest (valid is valid, invalid is invalid); timing is not asserted.
describe('args validation bench samples', () => {
  it('has valid and invalid samples, and runs', () => {
    const validate = compileArgs(SIX_FIELD_SCHEMA);
    expect(validate(VALID_ARGS).ok).toBe(true);
    const invalid = validate(INVALID_ARGS);
    expect(invalid.ok ? 0 : invalid.violations.length).toBe(4);
    expect(benchArgsValidation(100).validMicros).toBeGreaterThan(0);
  });
});
