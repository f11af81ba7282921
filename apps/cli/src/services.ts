import { fileURLToPath } from 'node:url';
import type { ServiceEntry } from '@warden/service';

/**
 * The services `warden up` runs, in start order: the collector first, so the audit log records
 * everything from the first event on (and, stopped last, everything up to the last).
 */
export const SERVICES = [
  'trace-collector',
  'identity-broker',
  'policy-decision',
  'cost-governor',
  'tool-executor',
] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Whether `name` is one of {@link SERVICES}. */
export function isServiceName(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

/** The built app next to this CLI: dist/apps/<name>/<file>. */
export function appPath(name: ServiceName, file: 'main.js' | 'service.js'): string {
  return fileURLToPath(new URL(`../${name}/${file}`, import.meta.url));
}

/**
 * Loads a service's entry from its built app. The path is resolved at run time: the CLI launches
 * apps, it does not depend on their code.
 */
export async function loadService(name: ServiceName): Promise<ServiceEntry<unknown>> {
  const module = (await import(appPath(name, 'service.js'))) as { service: ServiceEntry<unknown> };
  return module.service;
}
