export { luhnValid } from './luhn.js';
export { redact, type RedactOptions, type RedactResult } from './redact.js';
export { redactText, type RedactTextResult } from './redact-text.js';
export { RedactionKind, redactionMarker } from './redaction-kind.js';
export { isSecretKey } from './secret-keys.js';
