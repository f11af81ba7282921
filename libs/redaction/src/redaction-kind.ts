/**
 * What a redaction found. Each detector reports exactly one of these, and the same string appears
 * in the marker that replaces the value (`[REDACTED:email]`), so a trace reader and a query on the
 * stored `kinds` speak the same words. Kinds are only ever added, never renamed.
 */
export const RedactionKind = {
  /**
   * An API key, access key, PEM private key or other credential, recognised by its shape, by a
   * `password=…` style label, or as the password of a `scheme://user:password@host` URL.
   */
  ApiKey: 'api_key',
  /** The token after `Bearer` (the word `Bearer` itself is kept). */
  Bearer: 'bearer',
  /** A payment card number that passes the Luhn check. */
  Card: 'card',
  /** An e-mail address. */
  Email: 'email',
  /** A JSON Web Token (three base64url segments, header starting `eyJ`). */
  Jwt: 'jwt',
  /** A national identifier; today US social security numbers in the `123-45-6789` shape. */
  NationalId: 'national_id',
  /** A phone number in international (`+44 20 …`) or common national groupings. */
  Phone: 'phone',
  /** A field the caller marked as personal data by its path; its value is replaced whole. */
  Pii: 'pii',
  /** The value of an object key that names a secret (`password`, `apiKey`, …), replaced whole. */
  Secret: 'secret',
} as const;

/** One of the {@link RedactionKind} values. */
export type RedactionKind = (typeof RedactionKind)[keyof typeof RedactionKind];

/** Every kind in ascending string order: the order results list them in. */
const SORTED_KINDS: readonly RedactionKind[] = Object.values(RedactionKind).sort();

const KIND_BIT = new Map<RedactionKind, number>(SORTED_KINDS.map((kind, i) => [kind, 1 << i]));

const MARKERS = new Map<RedactionKind, string>(
  SORTED_KINDS.map((kind) => [kind, `[REDACTED:${kind}]`]),
);

/** The text that replaces a redacted value of `kind`, e.g. `[REDACTED:email]`. */
export function redactionMarker(kind: RedactionKind): string {
  return MARKERS.get(kind) ?? `[REDACTED:${kind}]`;
}

/** The prefix every marker starts with, so a later pass can recognise an earlier one's output. */
export const MARKER_PREFIX = '[REDACTED:';

/**
 * Counts replacements and remembers which kinds occurred, as a bit set so that recording a hit
 * costs nothing measurable and the sorted, unique list is built once at the end.
 */
export class Findings {
  count = 0;
  private mask = 0;

  /** Records one replacement of `kind`. */
  add(kind: RedactionKind): void {
    this.count++;
    this.mask |= KIND_BIT.get(kind) ?? 0;
  }

  /** The kinds recorded so far, sorted and unique. */
  kinds(): RedactionKind[] {
    if (this.mask === 0) return [];
    return SORTED_KINDS.filter((kind) => ((KIND_BIT.get(kind) ?? 0) & this.mask) !== 0);
  }
}
