import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileArgs,
  deriveRisk,
  parseToolDeclaration,
  type ToolDeclaration,
} from '../src/index.js';

function loadFixture(name: string): ToolDeclaration {
  const text = readFileSync(new URL(`fixtures/${name}.yaml`, import.meta.url), 'utf8');
  const parsed = parseToolDeclaration(text);
  if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.errors)}`);
  return parsed.tool;
}

describe('reference tool declarations (test/fixtures)', () => {
  const update = loadFixture('zendesk.update_ticket');
  const bulkClose = loadFixture('zendesk.bulk_close');
  const validateUpdate = compileArgs(update.args);
  const validateBulk = compileArgs(bulkClose.args);

  it('parses both declarations with their fields and defaults', () => {
    expect(update).toMatchObject({
      name: 'zendesk.update_ticket',
      version: 1,
      kind: 'write',
      domain: 'support',
      groups: ['support', 'zendesk'],
      pii: ['assignee_email', 'comment.body'],
      idempotency_keys: true,
      cost: { per_call_micro_usd: 200 },
    });
    // The executor section is opaque: adapter-specific fields pass through untouched.
    expect(update.executor).toEqual({
      adapter: 'http',
      target: 'https://example.zendesk.com/api/v2/tickets/{ticket_id}.json',
      secret_ref: 'zendesk/api-token',
      method: 'PUT',
      timeout_ms: 5000,
    });
    expect(bulkClose).toMatchObject({
      name: 'zendesk.bulk_close',
      idempotency_keys: false,
      pii: ['note'],
    });
  });

  it('accepts a typical single-ticket update and flags nothing but write', () => {
    const args = {
      ticket_id: 4821,
      status: 'solved',
      tags: ['billing'],
      comment: { body: 'Fixed.' },
    };
    const result = validateUpdate(args);
    expect(result).toEqual({ ok: true, value: args });
    expect(deriveRisk(update, args)).toEqual({
      write: true,
      bulk: false,
      money: false,
      pii: true, // comment.body is marked pii and present
      permission: false,
      production: false,
      urgent_priority: false,
    });
  });

  it('flags money when amount is set, and urgent priority', () => {
    const args = { ticket_id: 1, priority: 'urgent', amount: 25_000_000 };
    expect(validateUpdate(args).ok).toBe(true);
    expect(deriveRisk(update, args)).toMatchObject({
      money: true,
      urgent_priority: true,
      pii: false,
    });
  });

  it('flags a close of more than 10 tickets as bulk, and 10 as not bulk', () => {
    const ten = { ticket_ids: Array.from({ length: 10 }, (_, i) => i + 1), reason: 'spam' };
    const eleven = { ticket_ids: Array.from({ length: 11 }, (_, i) => i + 1), reason: 'spam' };
    expect(validateBulk(ten).ok).toBe(true);
    expect(validateBulk(eleven).ok).toBe(true);
    expect(deriveRisk(bulkClose, ten).bulk).toBe(false);
    expect(deriveRisk(bulkClose, eleven).bulk).toBe(true);
  });

  it("rejects the issue's bad args for the update tool with every violation", () => {
    const result = validateUpdate({
      ticket_id: 0,
      status: 'reopened',
      comment: { body: 'x'.repeat(4001) },
      escalate: true,
    });
    expect(result).toEqual({
      ok: false,
      violations: [
        { path: 'escalate', message: 'is not a declared field' },
        { path: 'ticket_id', message: 'must be ≥ 1 (is 0)' },
        {
          path: 'status',
          message: 'must be one of "new", "open", "pending", "hold", "solved", "closed"',
        },
        { path: 'comment.body', message: 'must be at most 4000 characters long (is 4001)' },
      ],
    });
  });

  it('reads the same declaration written as JSON', () => {
    const json = JSON.stringify({ ...bulkClose });
    const parsed = parseToolDeclaration(json, { format: 'json' });
    expect(parsed).toEqual({ ok: true, tool: bulkClose });
  });
});
