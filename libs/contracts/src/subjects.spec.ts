import { describe, expect, it } from 'vitest';
import { InvalidSubjectTokenError, parseEventSubject, subjects } from './subjects.js';

describe('subjects', () => {
  it('builds an event subject with the agent as last token', () => {
    expect(subjects.event('prod', 'intent.proposed', 'triage-bot')).toBe(
      'warden.prod.evt.intent.proposed.triage-bot',
    );
  });

  it('uses the reserved token _ for events of no agent', () => {
    expect(subjects.event('prod', 'policy.published')).toBe('warden.prod.evt.policy.published._');
  });

  it('refuses ids that would split the subject or act as wildcards', () => {
    for (const agent of ['a.b', '*', '>', 'Bot', 'a b']) {
      expect(() => subjects.event('prod', 'intent.proposed', agent)).toThrow(
        InvalidSubjectTokenError,
      );
    }
    expect(() => subjects.allEvents('pr.od')).toThrow(/env "pr.od" must be 1-64 characters/);
  });

  it('names the stream after the env', () => {
    expect(subjects.streamName('staging-2')).toBe('WARDEN_STAGING-2');
  });

  it('builds filters and API subjects', () => {
    expect(subjects.eventType('dev', 'intent.resolved')).toBe('warden.dev.evt.intent.resolved.*');
    expect(subjects.allEvents('dev')).toBe('warden.dev.evt.>');
    expect(subjects.api('dev', 'audit', 'timeline')).toBe('warden.dev.api.audit.timeline');
  });

  it('puts a tool target under its env, whatever the target looks like', () => {
    expect(subjects.toolRequest('prod', 'crm.lookup')).toBe('tools.prod.crm.lookup');
    expect(subjects.toolRequest('prod', 'CRM.Lookup_v2')).toBe('tools.prod.CRM.Lookup_v2');
    // Relative, so a target spelled like a Warden subject or an inbox stays under `tools.<env>.`.
    expect(subjects.toolRequest('prod', 'warden.prod.evt.policy.decided._')).toBe(
      'tools.prod.warden.prod.evt.policy.decided._',
    );
    expect(subjects.toolRequests('prod')).toBe('tools.prod.>');
  });

  it('refuses a tool target with wildcards, a $, empty tokens or spaces', () => {
    for (const target of [
      'crm.*',
      '>',
      'crm.>',
      '$JS.API.INFO',
      'a..b',
      '.a',
      'a b',
      '',
      'x'.repeat(257),
    ]) {
      expect(() => subjects.toolRequest('prod', target)).toThrow(InvalidSubjectTokenError);
    }
    expect(() => subjects.toolRequest('pr.od', 'crm.lookup')).toThrow(/env "pr.od"/);
    expect(() => subjects.toolRequests('*')).toThrow(InvalidSubjectTokenError);
  });

  it('parses what it builds', () => {
    expect(parseEventSubject('warden.prod.evt.intent.proposed.triage-bot')).toEqual({
      env: 'prod',
      type: 'intent.proposed',
      agent: 'triage-bot',
    });
    expect(parseEventSubject('warden.prod.evt.policy.published._')?.agent).toBe('_');
  });

  it.each([
    'warden.prod.evt.intent.proposed',
    'warden.prod.api.audit.sql.x',
    'other.prod.evt.a.b.c',
    'warden.PROD.evt.a.b.c',
  ])('rejects %s', (subject) => {
    expect(parseEventSubject(subject)).toBeUndefined();
  });
});
