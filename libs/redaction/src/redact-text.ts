import { Findings, type RedactionKind } from './redaction-kind.js';
import { redactString } from './text-detectors.js';

/** What {@link redactText} returns. */
export interface RedactTextResult {
  /** The text with every finding replaced by its marker; the input itself when nothing matched. */
  readonly text: string;
  /** The kinds that were found, sorted and unique. */
  readonly kinds: RedactionKind[];
  /** How many substrings were replaced. */
  readonly count: number;
}

/**
 * Redacts free text such as a log line or an error message: e-mail addresses, phone numbers,
 * Luhn-valid card numbers, US social security numbers, JWTs, bearer tokens, API keys of known
 * shapes, credentials in URLs and labelled secrets (`password=…`, `"api_key": "…"`). Each finding
 * becomes a marker such as `[REDACTED:email]`; after `Bearer` only the token is replaced.
 * Runs in time linear in the length of `text`.
 */
export function redactText(text: string): RedactTextResult {
  const findings = new Findings();
  const redacted = redactString(text, findings);
  return { text: redacted, kinds: findings.kinds(), count: findings.count };
}
