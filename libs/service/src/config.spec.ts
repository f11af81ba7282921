import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from './config.js';
import { baseEnv, BaseServiceConfig, DEFAULT_NATS_URL, withExample } from './env-vars.js';
import { ConfigError, isConfigError } from './service.errors.js';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('parses the common variables, with defaults for NATS_URL and LOG_LEVEL', () => {
    expect(parseConfig(BaseServiceConfig, { WARDEN_ENV: 'dev', HTTP_PORT: '0' }, 'svc')).toEqual({
      WARDEN_ENV: 'dev',
      NATS_URL: DEFAULT_NATS_URL,
      HTTP_PORT: 0,
      LOG_LEVEL: 'info',
    });
  });

  it('accepts a NATS cluster as a comma-separated list', () => {
    const config = parseConfig(
      BaseServiceConfig,
      { WARDEN_ENV: 'prod', HTTP_PORT: '8080', NATS_URL: 'nats://a:4222, tls://b:4222' },
      'svc',
    );
    expect(config.NATS_URL).toBe('nats://a:4222, tls://b:4222');
  });

  it('lists every missing and invalid variable in one error, with reasons and examples', () => {
    const Config = z.object({
      ...baseEnv,
      NATS_URL: withExample(z.string(), 'nats://127.0.0.1:4222'),
      CLICKHOUSE_URL: withExample(z.url(), 'http://127.0.0.1:8123'),
      BATCH_SIZE: z.coerce.number().int().positive(),
    });
    const error = configErrorOf(() =>
      parseConfig(
        Config,
        {
          WARDEN_ENV: 'Prod.EU',
          HTTP_PORT: '70000',
          LOG_LEVEL: 'loud',
          BATCH_SIZE: '-1',
          CLICKHOUSE_URL: '',
        },
        'trace-collector',
      ),
    );

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.code).toBe('config_invalid');
    expect(error.issues.map((i) => i.variable)).toEqual([
      'WARDEN_ENV',
      'NATS_URL',
      'HTTP_PORT',
      'LOG_LEVEL',
      'CLICKHOUSE_URL',
      'BATCH_SIZE',
    ]);
    expect(error.message).toBe(
      [
        'trace-collector: invalid configuration:',
        '  - WARDEN_ENV: must match ^[a-z0-9][a-z0-9_-]{0,63}$ (example: dev)',
        '  - NATS_URL: required (example: nats://127.0.0.1:4222)',
        '  - HTTP_PORT: must be an integer from 0 to 65535 (0 = any free port) (example: 8080)',
        '  - LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (example: info)',
        '  - CLICKHOUSE_URL: required (example: http://127.0.0.1:8123)',
        `  - BATCH_SIZE: ${error.issues[5]!.reason}`,
      ].join('\n'),
    );
    expect(error.issues[5]!.reason).toMatch(/0|positive/);
  });

  it('never prints the rejected values', () => {
    const Config = z.object({ UPSTREAM_TOKEN: z.string().min(32) });
    const error = configErrorOf(() => parseConfig(Config, { UPSTREAM_TOKEN: 'sk-short' }, 'svc'));
    expect(error.message).not.toContain('sk-short');
  });

  it('reads only the variables the schema names, from process.env by default', () => {
    const Config = z.object({ PATH: z.string() });
    expect(Object.keys(parseConfig(Config))).toEqual(['PATH']);
  });
});
