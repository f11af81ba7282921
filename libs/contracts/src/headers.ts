/**
 * The NATS header that carries an agent's short-lived credential on `intent.proposed` (DESIGN §2
 * step 1). It is a header, never event data, so the token never reaches the audit log: the
 * identity broker verifies it and the events after it carry only its `jti`.
 */
export const CREDENTIAL_HEADER = 'Warden-Credential';
