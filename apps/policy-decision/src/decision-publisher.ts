import { provisionedPublisherProvider } from '@warden/service';

/** Token of the service's event publisher for events no consumed event causes (APIs, sweeps). */
export const DECISION_PUBLISHER = Symbol('policy.publisher');

/** The publisher: the registries replay and publish at start, before the transport runs. */
export const decisionPublisherProvider = provisionedPublisherProvider(DECISION_PUBLISHER);
