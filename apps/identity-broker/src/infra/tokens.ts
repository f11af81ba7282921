/** Token of the broker's {@link SigningKey} in the Nest container. */
export const SIGNING_KEY = Symbol('identity.signing-key');
