import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getFreePort, identityTestEnv, waitFor } from '@warden/testing';

/** The repository root, for the built apps under dist/. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The services a governed call goes through (the trace collector records, it decides nothing). */
export const GOVERNING_SERVICES = [
  'identity-broker',
  'policy-decision',
  'cost-governor',
  'tool-executor',
] as const;
/** One of {@link GOVERNING_SERVICES}. */
export type GoverningService = (typeof GOVERNING_SERVICES)[number];

/** Warden's governing services, each its own process built by `npm run build`. */
export interface RunningServices {
  /** Everything the processes wrote, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  output: string;
}

/**
 * Starts the real identity broker, policy decision service, cost governor and tool executor
 * (`node dist/apps/<app>/main.js`) for `env` on `natsUrl`, with the test keys of `@warden/testing`
 * (so `registerAgents`, `seedBuiltins` and `humanWithToken` work), and waits until each is ready.
 */
export async function startServices(
  env: string,
  natsUrl: string,
  extraEnv: Partial<Record<GoverningService, Record<string, string>>> = {},
): Promise<RunningServices> {
  const started: ServiceProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const service of started.reverse()) {
      if (service.child.exitCode === null) service.child.kill('SIGTERM');
      await service.exited;
    }
  };
  try {
    await Promise.all(
      GOVERNING_SERVICES.map(async (name) => {
        const main = `${ROOT}dist/apps/${name}/main.js`;
        if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
        const port = await getFreePort();
        const child = spawn(process.execPath, [main], {
          env: {
            ...process.env,
            WARDEN_ENV: env,
            NATS_URL: natsUrl,
            HTTP_PORT: String(port),
            LOG_LEVEL: 'warn',
            EVENT_ACK_WAIT_MS: '2000',
            ...identityTestEnv(),
            ...extraEnv[name],
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const service: ServiceProcess = {
          name,
          child,
          exited: new Promise((resolve) => child.once('exit', resolve)),
          output: '',
        };
        child.stdout.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
        started.push(service);
        await waitFor(
          async () => {
            if (child.exitCode !== null) {
              throw new Error(`${name} exited with ${child.exitCode}:\n${service.output}`);
            }
            const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            return ready?.ok === true;
          },
          { timeoutMs: 60_000, message: `${name} ready` },
        );
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    output: () => started.map((service) => `--- ${service.name}\n${service.output}`).join('\n'),
    stop,
  };
}
