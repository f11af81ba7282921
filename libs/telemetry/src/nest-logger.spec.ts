import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { memoryDestination } from './memory-destination.js';
import { NestJsonLogger } from './nest-logger.js';

function setup() {
  const destination = memoryDestination();
  const logger = createLogger({ service: 'svc', env: 'nest-logger-spec', destination });
  return { nest: new NestJsonLogger(logger), records: destination.records };
}

describe('NestJsonLogger', () => {
  it('writes Nest lines as JSON with their context', () => {
    const { nest, records } = setup();
    nest.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    expect(records[0]).toMatchObject({
      level: 'info',
      service: 'svc',
      component: 'nest',
      context: 'RouterExplorer',
      msg: 'Mapped {/healthz, GET} route',
    });
  });

  it('keeps the stack and context of errors apart', () => {
    const { nest, records } = setup();
    const error = new Error('boom');
    nest.error('hook failed', error.stack, 'NestApplicationContext');
    nest.error(error, undefined, 'ExceptionHandler');
    expect(records[0]).toMatchObject({
      level: 'error',
      msg: 'hook failed',
      context: 'NestApplicationContext',
      stack: error.stack,
    });
    expect(records[1]).toMatchObject({
      level: 'error',
      msg: 'boom',
      context: 'ExceptionHandler',
      err: { type: 'Error', message: 'boom' },
    });
  });

  it('maps Nest levels onto pino levels', () => {
    const { nest, records } = setup();
    nest.setLogLevels(['error', 'warn']);
    nest.log('hidden');
    nest.warn('shown');
    nest.setLogLevels(['verbose']);
    nest.verbose('chatty');
    expect(records.map((r) => [r['level'], r['msg']])).toEqual([
      ['warn', 'shown'],
      ['trace', 'chatty'],
    ]);
  });
});
