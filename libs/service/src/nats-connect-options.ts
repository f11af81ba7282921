import type { ConnectNatsOptions } from '@warden/messaging';
import { isWardenService, serviceInboxPrefix } from '@warden/nats-auth';

/**
 * How a service connects to NATS: its name on the connection, and on a server with scoped access
 * (NATS_CREDS set) its own credentials and the inbox prefix its permissions allow
 * (`_INBOX_svc_<service>`: replies to its requests come only there, and nobody else reads them).
 */
export function serviceConnectOptions(
  name: string,
  natsUrl: string,
  credsFile: string | undefined,
): ConnectNatsOptions {
  if (credsFile === undefined) return { servers: natsUrl.split(','), name };
  if (!isWardenService(name)) {
    throw new TypeError(`${name} is not a Warden service: deploy/nats has no permissions for it`);
  }
  return { servers: natsUrl.split(','), name, credsFile, inboxPrefix: serviceInboxPrefix(name) };
}
