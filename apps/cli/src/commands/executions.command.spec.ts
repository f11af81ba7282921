import { describe, expect, it } from 'vitest';
import { CliError } from '../output.js';
import { executionsCommand, verdictOf } from './executions.command.js';

describe('warden executions', () => {
  it('takes exactly one verdict', () => {
    expect(verdictOf({ applied: true })).toBe('applied');
    expect(verdictOf({ notApplied: true })).toBe('not_applied');
    expect(() => verdictOf({})).toThrow(CliError);
    expect(() => verdictOf({ applied: true, notApplied: true })).toThrow(CliError);
  });

  it('refuses an intent id that is not a ULID before anything is sent', async () => {
    const command = executionsCommand().exitOverride();
    for (const sub of command.commands) {
      sub.exitOverride();
      sub.configureOutput({ writeErr: () => undefined });
    }
    await expect(
      command.parseAsync(['resolve', 'not-an-id', '--applied', '--note', 'x'], { from: 'user' }),
    ).rejects.toThrow(/ULID/);
  });
});
