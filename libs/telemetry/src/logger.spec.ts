import { describe, expect, it } from 'vitest';
import { createLogger, logContextOf, withLogContext } from './logger.js';
import { memoryDestination } from './memory-destination.js';

function setup() {
  const destination = memoryDestination();
  const logger = createLogger({
    service: 'trace-collector',
    instance: 'host-1:42',
    env: 'logger-spec',
    level: 'debug',
    destination,
  });
  return { logger, records: destination.records };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service, instance, env, level and time', () => {
    const { logger, records } = setup();
    logger.info({ batch: 3 }, 'flushed');
    expect(records).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'trace-collector',
        instance: 'host-1:42',
        env: 'logger-spec',
        batch: 3,
        msg: 'flushed',
      }),
    ]);
    expect(new Date(records[0]!['time'] as string).toISOString()).toBe(records[0]!['time']);
  });

  it('honours the level', () => {
    const { logger, records } = setup();
    logger.trace('too chatty');
    logger.debug('kept');
    expect(records.map((r) => r['msg'])).toEqual(['kept']);
  });

  it('redacts credential fields in log objects, headers and bindings', () => {
    const { logger, records } = setup();
    const intent = {
      credential: 'eyJhbGciOiJFZERTQSJ9.payload.sig',
      headers: { 'warden-credential': 'eyJ.secret', traceparent: '00-abc' },
      args: { connection: { token: 'tok-1', host: 'db' } },
    };
    logger.info(
      {
        intent,
        req: { headers: { authorization: 'Bearer abc' } },
        token: 'top-level',
        deep: { a: { b: { c: { clientSecret: 's3' } } } },
        usage: { input_tokens: 120 },
      },
      'received',
    );
    logger.child({ token: 'bound-secret', run_id: 'run-1' }).warn('child');

    const text = JSON.stringify(records);
    for (const secret of [
      'eyJhbG',
      'eyJ.secret',
      'tok-1',
      'Bearer abc',
      'top-level',
      's3',
      'bound-secret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(records[0]).toMatchObject({
      intent: { credential: '[REDACTED]', headers: { 'warden-credential': '[REDACTED]' } },
      usage: { input_tokens: 120 },
    });
    expect(records[1]).toMatchObject({ run_id: 'run-1', token: '[REDACTED]' });
    // The caller's object is left intact.
    expect(intent.args.connection.token).toBe('tok-1');
  });
});

describe('withLogContext / logContextOf', () => {
  it('binds the correlation fields of an event and nothing else', () => {
    const { logger, records } = setup();
    const event = {
      event_id: 'evt-1',
      type: 'intent.proposed',
      run_id: 'run-1',
      intent_id: 'int-1',
      agent_id: undefined,
      data: { args: { email: 'a@example.com' } },
    };
    withLogContext(logger, logContextOf(event)).info('handled');
    expect(records[0]).toMatchObject({
      event_id: 'evt-1',
      type: 'intent.proposed',
      run_id: 'run-1',
      intent_id: 'int-1',
    });
    expect(records[0]).not.toHaveProperty('agent_id');
    expect(records[0]).not.toHaveProperty('data');
  });
});
