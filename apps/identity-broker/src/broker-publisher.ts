import { provisionedPublisherProvider } from '@warden/service';

/** Token of the broker's one event publisher, shared by the registry and the credentials. */
export const BROKER_PUBLISHER = Symbol('identity.publisher');

/**
 * The broker's publisher: both halves publish at start (the first signing key, a repaired or
 * bootstrap registry record), so the stream is provisioned first, once.
 */
export const brokerPublisherProvider = provisionedPublisherProvider(BROKER_PUBLISHER);
