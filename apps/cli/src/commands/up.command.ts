import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { RunningService } from '@warden/service';
import { Command, InvalidArgumentError, Option } from 'commander';
import ora from 'ora';
import { stopChild } from '../child-process.js';
import { identityEnv, identityState, type IdentityState } from '../identity-state.js';
import { ensureNats } from '../local-nats.js';
import { CliError, printTable } from '../output.js';
import { envFlagFor, envOption, natsOption, type ConnectionOptions } from './common-options.js';
import { adminToken } from '../demo/demo-identity.js';
import {
  helpdeskState,
  startHelpdeskProcess,
  type HelpdeskState,
} from '../demo/helpdesk-process.js';
import { ensureReference } from '../demo/reference-setup.js';
import { printTriageReport, runTriageDemo } from '../demo/triage-demo.js';
import { appPath, loadService, SERVICES, type ServiceName } from '../services.js';

/** Where `warden up` keeps its state by default (relative to the working directory). */
const DEFAULT_STATE_DIR = '.warden';

/** The default first HTTP port; each service gets the next one (its /healthz and /readyz). */
const FIRST_HTTP_PORT = 7410;

interface UpOptions extends ConnectionOptions {
  data: string;
  clickhouseUrl?: string;
  split?: boolean;
  state: string;
  httpPort: number;
  demo: boolean;
  logLevel: string;
}

/**
 * How long an open breaker fails fast before a probe (EXECUTOR_BREAKER_COOLDOWN_MS): shorter
 * than the service's default, so the outage scenario recovers while you watch.
 */
const DEMO_BREAKER_COOLDOWN_MS = '5000';

/** `warden up`: start Warden on embedded defaults and keep serving until interrupted. */
export function upCommand(): Command {
  return new Command('up')
    .description('start Warden: NATS (if none is running), then every service, until Ctrl-C')
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(
      new Option('--data <dir>', 'the embedded ClickHouse (chDB) data directory')
        .env('WARDEN_DATA_DIR')
        .default('.warden/data'),
    )
    .addOption(
      new Option('--clickhouse-url <url>', 'use a ClickHouse server instead of embedded chDB').env(
        'WARDEN_CLICKHOUSE_URL',
      ),
    )
    .option('--split', 'run each service as its own process (as in production)')
    .option(
      '--state <dir>',
      'where warden keeps its state: a NATS server it started, identity keys, the bootstrap admin secret',
      DEFAULT_STATE_DIR,
    )
    .addOption(
      new Option('--http-port <port>', 'the first service HTTP port (health); the others follow')
        .default(FIRST_HTTP_PORT)
        .argParser(parsePort),
    )
    .option('--no-demo', 'do not run the support-triage agent once up')
    .addOption(
      new Option('--log-level <level>', "the services' log level (their JSON logs go to stdout)")
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
        .env('LOG_LEVEL')
        .default('warn'),
    )
    .addHelpText(
      'after',
      `
Besides the five services, it starts the reference helpdesk (examples/support-triage/helpdesk,
its data under --state), registers the support-triage agent, people, tools, policies, budgets
and the helpdesk credential (once: a second start reuses them), then runs the triage agent's
scenarios and prints what happened. Everything it keeps is under --state.

Examples:
  warden up
  warden up --no-demo
  warden up --env staging --split
  warden up --clickhouse-url http://127.0.0.1:8123`,
    )
    .action(async (options: UpOptions) => {
      await up(options);
    });
}

async function up(options: UpOptions): Promise<void> {
  mkdirSync(options.state, { recursive: true });
  const spinner = ora(`Connecting to NATS at ${options.nats}`).start();
  const nats = await ensureNats(options.nats, options.state).catch((error: unknown) => {
    spinner.fail();
    throw error;
  });
  spinner.succeed(
    nats.started
      ? `Started nats-server at ${nats.url} (store in ${options.state}/nats)`
      : `NATS at ${nats.url}`,
  );

  const identity = identityState(options.state, options.env);
  const running: { name: string; url: string; stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const service of running.reverse()) await service.stop();
    await nats.stop();
  };
  const helpdesk = helpdeskState(options.state, options.env);
  let agentSecret: string;
  try {
    const started = await step(
      'Starting the reference helpdesk',
      async () => {
        const helpdeskProcess = await startHelpdeskProcess(helpdesk);
        running.push({ name: 'helpdesk', ...helpdeskProcess });
        return helpdeskProcess;
      },
      (started) => `Reference helpdesk on ${started.url} (data in ${displayPath(helpdesk.dir)})`,
    );
    const upstreams = writeUpstreamTable(helpdesk.dir, started.url);
    for (const [index, name] of SERVICES.entries()) {
      const port = options.httpPort + index;
      const env = serviceEnv(options, port, identity, upstreams);
      await step(
        `Starting ${name}`,
        async () => {
          const service = options.split
            ? await startProcess(name, env, port)
            : await startInProcess(name, env);
          running.push(service);
        },
        () => `${name} ready on http://127.0.0.1:${port}`,
        `${name} did not start`,
      );
    }
    const setup = await step('Registering the support-triage workflow', async () => {
      const admin = { env: options.env, nats: nats.url, stateDir: options.state };
      return ensureReference({ ...admin, token: await adminToken(admin) }, helpdesk);
    });
    for (const line of setup.lines) process.stdout.write(`  ${line}\n`);
    agentSecret = setup.agentSecret;
  } catch (error) {
    await stopAll();
    throw error;
  }

  printTable(
    ['service', 'health', 'mode'],
    running
      .filter((service) => service.name !== 'helpdesk')
      .map((service) => ({
        service: service.name,
        health: `${service.url}/readyz`,
        mode: options.split ? 'process' : 'in-process',
      })),
  );
  process.stdout.write(
    [
      `Warden is up (env ${options.env}${options.clickhouseUrl ? `, ClickHouse at ${options.clickhouseUrl}` : `, audit log in ${options.data}`}). Ctrl-C stops it.`,
      ...adminHint(identity, options),
      `Try: npm run warden -- demo --env ${options.env}${options.state === DEFAULT_STATE_DIR ? '' : ` --state ${displayPath(resolve(options.state))}`}`,
      `     npm run warden -- runs list --env ${options.env}`,
      `     npm run warden -- audit sql "SELECT type, count() AS n FROM events GROUP BY type" --env ${options.env}`,
      '',
    ].join('\n'),
  );
  if (options.demo) {
    await runAgent(options, nats.url, agentSecret, helpdesk, running);
    process.stdout.write('Warden keeps serving. Ctrl-C stops it.\n');
  }

  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', resolveSignal);
    process.once('SIGTERM', resolveSignal);
  });
  const stopping = ora('Stopping (draining consumers, flushing the audit log)').start();
  await stopAll();
  stopping.succeed('Stopped');
}

/** Runs the triage agent's scenarios with one progress line each, then prints the report. */
async function runAgent(
  options: UpOptions,
  servers: string,
  agentSecret: string,
  helpdesk: HelpdeskState,
  running: readonly { name: string; url: string }[],
): Promise<void> {
  const helpdeskUrl = running.find((service) => service.name === 'helpdesk')?.url ?? '';
  let spinner = ora();
  try {
    const report = await runTriageDemo({
      servers,
      env: options.env,
      agentSecret,
      helpdesk: { url: helpdeskUrl, adminToken: helpdesk.adminToken },
      onStart: (title) => (spinner = ora(`Agent: ${title}`).start()),
      onResult: (result) =>
        result.ok
          ? spinner.succeed(`Agent: ${result.title}: ${result.summary}`)
          : spinner.warn(
              `Agent: ${result.title}: ${result.summary} (expected: ${result.expected})`,
            ),
    });
    printTriageReport(report, options.state);
  } catch (error) {
    spinner.fail(
      `The triage agent stopped: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Runs `work` under a spinner that says what it does, and how it ended. */
async function step<T>(
  text: string,
  work: () => Promise<T>,
  done: (result: T) => string = () => text,
  failed: string = text,
): Promise<T> {
  const spinner = ora(text).start();
  try {
    const result = await work();
    spinner.succeed(done(result));
    return result;
  } catch (error) {
    spinner.fail(failed);
    throw error;
  }
}

/**
 * The executor's upstream table for the reference helpdesk (EXECUTOR_UPSTREAMS_FILE), written
 * next to its state: the helpdesk listens on loopback, so it is allowed as a private address.
 */
function writeUpstreamTable(dir: string, url: string): string {
  const file = join(dir, 'upstreams.yaml');
  writeFileSync(
    file,
    `# Written by warden up: the reference helpdesk.\nhelpdesk:\n  base_url: ${url}\n  tools: ['zendesk.*']\n  allow_private: true\n`,
    { mode: 0o600 },
  );
  return file;
}

/** How to act as the bootstrap admin (register agents, revoke tokens), when `warden up` knows. */
function adminHint(identity: IdentityState, options: UpOptions): string[] {
  const flags = envFlagFor(options.env);
  if (process.env['IDENTITY_BOOTSTRAP_ADMIN_SECRET']) {
    return [
      `Admin: npm run warden -- login --user admin${flags}   (secret: IDENTITY_BOOTSTRAP_ADMIN_SECRET)`,
    ];
  }
  if (!existsSync(identity.bootstrapSecretFile)) return [];
  return [
    `Admin: npm run warden -- login --user admin --secret-file ${displayPath(identity.bootstrapSecretFile)}${flags}`,
  ];
}

/** A path as a person would paste it from here: relative below the working directory. */
function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') || isAbsolute(fromHere) ? path : fromHere;
}

/** The environment a service reads its configuration from, with the command's flags applied. */
function serviceEnv(
  options: UpOptions,
  port: number,
  identity: IdentityState,
  upstreamsFile: string,
): NodeJS.ProcessEnv {
  return {
    EXECUTOR_UPSTREAMS_FILE: upstreamsFile,
    EXECUTOR_BREAKER_COOLDOWN_MS: DEMO_BREAKER_COOLDOWN_MS,
    ...process.env,
    ...identityEnv(identity),
    WARDEN_ENV: options.env,
    NATS_URL: options.nats,
    WARDEN_DATA_DIR: resolve(options.data),
    HTTP_PORT: String(port),
    // A stack on a laptop answers its health checks to this machine only.
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel,
    ...(options.clickhouseUrl ? { WARDEN_CLICKHOUSE_URL: options.clickhouseUrl } : {}),
  };
}

/** Starts a service in this process (the embedded default). */
async function startInProcess(name: ServiceName, env: NodeJS.ProcessEnv) {
  const service = await loadService(name);
  const running: RunningService = await service
    .start(service.config(env))
    .catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      throw new CliError(
        `${name} cannot listen on port ${env.HTTP_PORT}: another process holds it`,
        'Stop that process, or give another first port with --http-port (Warden listens on it and the next 4).',
      );
    });
  return { name, url: running.url, stop: () => running.stop() };
}

/** Runs a service as its own process (`node dist/apps/<name>/main.js`) and waits for /readyz. */
async function startProcess(name: ServiceName, env: NodeJS.ProcessEnv, port: number) {
  // Node's own flags given to `warden up` (a heap limit, --cpu-prof) apply to each service too.
  const child = spawn(process.execPath, [...process.execArgv, appPath(name, 'main.js')], {
    env,
    // The IPC channel is how the service notices that warden up died (libs/service stops it).
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null)
      throw new CliError(
        `${name} exited with code ${child.exitCode}`,
        'Its log lines above say why.',
      );
    if (await isReady(url)) return { name, url, stop: () => stopChild(child) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new CliError(`${name} was not ready after 30 s`, `Check ${url}/readyz and its logs.`);
}

async function isReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).ok;
  } catch {
    return false;
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_000) {
    throw new InvalidArgumentError('must be a port number from 1 to 65000');
  }
  return port;
}
