import { luhnCheck } from './luhn.js';
import { type Findings, MARKER_PREFIX, RedactionKind, redactionMarker } from './redaction-kind.js';

// Every pattern here must run in linear time on any input, because event data is untrusted and a
// slow regex would stall the whole collector. The rules that keep them so:
// - each pattern starts with a literal, or with a look-behind that only lets it start at the
//   beginning of a run (`(?<![\w-])eyJ`), so a failed attempt is not repeated at every position of
//   that run;
// - repeated groups are separated by a character the group cannot contain (`\.` between base64url
//   segments, a separator between digit groups), so there is only one way to split a match;
// - digit quantifiers are bounded, so backtracking inside one attempt is bounded too.
// The ReDoS cases in redact-text.spec.ts hold them to it.

/** One kind of finding in free text. */
interface TextDetector {
  /**
   * A regex source that matches (case-insensitively) somewhere in every text this detector could
   * change. All hints are joined into one pre-filter, so it must stay a necessary condition: a
   * hint that misses a shape the detector handles turns into a false negative.
   */
  readonly hint: string;
  /** Rewrites `text`, recording each replacement; returns `text` itself when nothing matched. */
  readonly apply: (text: string, findings: Findings) => string;
}

/**
 * Replaces each match of the global `pattern` by what `rewrite` returns; `undefined` keeps the
 * match (a validator such as Luhn said no).
 */
function replaceMatches(
  text: string,
  pattern: RegExp,
  kind: RedactionKind,
  findings: Findings,
  rewrite: (match: RegExpExecArray) => string | undefined,
): string {
  pattern.lastIndex = 0;
  let match = pattern.exec(text);
  if (match === null) return text;
  let out = '';
  let last = 0;
  while (match !== null) {
    const replacement = rewrite(match);
    if (replacement !== undefined) {
      out += text.slice(last, match.index) + replacement;
      last = match.index + match[0].length;
      findings.add(kind);
    }
    match = pattern.exec(text);
  }
  return last === 0 ? text : out + text.slice(last);
}

/** A detector that replaces every validated match whole. */
function wholeMatch(
  kind: RedactionKind,
  pattern: RegExp,
  accept: (match: string) => boolean = () => true,
): TextDetector['apply'] {
  const marker = redactionMarker(kind);
  return (text, findings) =>
    replaceMatches(text, pattern, kind, findings, (m) => (accept(m[0]) ? marker : undefined));
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** How many ASCII digits `text` holds. */
function countDigits(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) if (isDigit(text.charCodeAt(i))) count++;
  return count;
}

/** The `n`th ASCII digit of `text` (from 0) as a number, or -1 when there are fewer. */
function nthDigit(text: string, n: number): number {
  let seen = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isDigit(code) && seen++ === n) return code - 48;
  }
  return -1;
}

function hasDigit(text: string): boolean {
  return /\d/.test(text);
}

// --- JWT -----------------------------------------------------------------------------------------

const JWT = /(?<![\w-])eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g;

const jwt: TextDetector = { hint: 'eyJ', apply: wholeMatch(RedactionKind.Jwt, JWT) };

// --- Bearer tokens -------------------------------------------------------------------------------

const BEARER = /(?<![a-z])bearer\s+([\w\-.~+/]+=*)/gi;
const BEARER_MARKER = redactionMarker(RedactionKind.Bearer);

/**
 * Keeps the word `Bearer` and replaces the token: the scheme tells a reader what kind of
 * credential was sent, the token is the only secret. A short or all-letter "token" is prose
 * ("a bearer token", "Bearer authentication"), not a credential.
 */
const bearer: TextDetector = {
  hint: 'bearer',
  apply: (text, findings) =>
    replaceMatches(text, BEARER, RedactionKind.Bearer, findings, (m) => {
      const token = m[1] ?? '';
      const body = token.replace(/=+$/, '');
      if (body.length < 12 || (body.length < 24 && /^[a-z]+$/i.test(body))) return undefined;
      return m[0].slice(0, m[0].length - token.length) + BEARER_MARKER;
    }),
};

// --- API keys by shape ---------------------------------------------------------------------------

const API_KEY = new RegExp(
  [
    // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and the many services that copied them.
    String.raw`(?<![\w-])sk-[\w-]{20,}`,
    // Stripe secret, publishable and restricted keys, live and test.
    String.raw`(?<![\w-])[spr]k_(?:live|test)_[A-Za-z0-9]{10,}`,
    // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens.
    String.raw`(?<![\w-])gh[pousr]_[A-Za-z0-9]{30,}`,
    String.raw`(?<![\w-])github_pat_\w{30,}`,
    // Slack bot, app, user, refresh and legacy tokens.
    String.raw`(?<![\w-])xox[baprs]-[A-Za-z0-9-]{10,}`,
    // AWS access key ids (long-lived AKIA, temporary ASIA).
    String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])`,
    // Google API keys.
    String.raw`(?<![\w-])AIza[\w-]{35}(?![\w-])`,
  ].join('|'),
  'g',
);

/**
 * `sk-` alone is also the start of ordinary hyphenated words (`sk-learn-compatible-…`); real keys
 * are random and always contain a digit.
 */
const apiKey: TextDetector = {
  hint: String.raw`sk-|[spr]k_(?:live|test)_|gh[pousr]_|github_pat_|xox[baprs]-|A(?:KIA|SIA|Iza)`,
  apply: wholeMatch(
    RedactionKind.ApiKey,
    API_KEY,
    (key) => !key.startsWith('sk-') || hasDigit(key),
  ),
};

// --- Private keys in PEM ------------------------------------------------------------------------

// The body is matched by character class rather than up to the END line, so a BEGIN line without
// its END costs nothing extra; `\\` is in the class because keys quoted into JSON strings carry
// their newlines as `\n`.
const PRIVATE_KEY =
  /-----BEGIN[A-Z ]{0,40} PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*(?:-----END[A-Z ]{0,40} PRIVATE KEY-----)?/g;

const privateKey: TextDetector = {
  hint: 'PRIVATE KEY-----',
  apply: wholeMatch(RedactionKind.ApiKey, PRIVATE_KEY),
};

// --- Credentials in URLs -------------------------------------------------------------------------

const URL_CREDENTIALS_SOURCE = String.raw`:\/\/([^\s:/@]*):([^\s/@]+)@`;
const URL_CREDENTIALS = new RegExp(URL_CREDENTIALS_SOURCE, 'g');
const API_KEY_MARKER = redactionMarker(RedactionKind.ApiKey);

/** `scheme://user:password@host`: keeps the user, which says whose credential leaked. */
const urlCredentials: TextDetector = {
  hint: URL_CREDENTIALS_SOURCE,
  apply: (text, findings) =>
    replaceMatches(text, URL_CREDENTIALS, RedactionKind.ApiKey, findings, (m) =>
      (m[2] ?? '').startsWith(MARKER_PREFIX) ? undefined : `://${m[1] ?? ''}:${API_KEY_MARKER}@`,
    ),
};

// --- Labelled secrets: `password=…`, `"api_key": "…"`, `Authorization: Basic …` ----------------

/** A label that names a secret, up to its `:` or `=`. */
const SECRET_LABEL = String.raw`(?:api[_-]?key|secret(?:[_-]?(?:access[_-]?)?key)?|passw(?:or)?d|passphrase|token|authorization|credentials?)(?:\\?["'])?[ \t]*[:=]`;
const LABELLED_SECRET = new RegExp(
  String.raw`${SECRET_LABEL}[ \t]*(?:\\?["'])?(?:(?:basic|bearer|digest|token) +)?([^\s"',;&]+)`,
  'gi',
);

/** Values that say a secret is absent rather than being one. */
const NOT_A_SECRET = /^(?:null|undefined|none|true|false|\*+)$/i;

/**
 * The label names the secret, so the value is replaced whatever its shape. A value that is already
 * a marker (`token: [REDACTED:jwt]`) was found by a more specific detector and is left alone. In
 * JSON that was itself quoted into a string (`\"password\":\"x\"`) the value ends with the
 * backslash of the closing quote, which is kept so the text stays parseable.
 */
const labelledSecret: TextDetector = {
  hint: SECRET_LABEL,
  apply: (text, findings) =>
    replaceMatches(text, LABELLED_SECRET, RedactionKind.ApiKey, findings, (m) => {
      const value = m[1] ?? '';
      if (value.startsWith(MARKER_PREFIX) || NOT_A_SECRET.test(value)) return undefined;
      const secret = value.replace(/\\+$/, '');
      if (secret.length === 0) return undefined;
      return (
        m[0].slice(0, m[0].length - value.length) + API_KEY_MARKER + value.slice(secret.length)
      );
    }),
};

// --- E-mail addresses ----------------------------------------------------------------------------

const EMAIL_MARKER = redactionMarker(RedactionKind.Email);

function isLocalPartChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || // a-z
    (code >= 65 && code <= 90) || // A-Z
    (code >= 48 && code <= 57) || // 0-9
    code === 46 || // .
    code === 95 || // _
    code === 37 || // %
    code === 43 || // +
    code === 45 // -
  );
}

function isDomainChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 46 || // .
    code === 45 // -
  );
}

function isLetter(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
}

/**
 * Whether `text[from, to)` is a domain: dot-separated labels of letters, digits and inner dashes,
 * at least two of them, ending in a top-level domain of two or more letters. A first label like
 * `2x` is refused: `icon@2x.png` is an image density suffix, not an address.
 */
function isEmailDomain(text: string, from: number, to: number): boolean {
  let labels = 0;
  let labelStart = from;
  let tldLetters = true;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) {
      if (!isLetter(text.charCodeAt(i))) tldLetters = false;
      continue;
    }
    const length = i - labelStart;
    if (length === 0 || text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45)
      return false;
    if (labels === 0 && isDensitySuffix(text, labelStart, i)) return false;
    labels++;
    if (i < to) {
      labelStart = i + 1;
      tldLetters = true;
    } else {
      return labels >= 2 && tldLetters && length >= 2;
    }
  }
  return false;
}

function isDensitySuffix(text: string, from: number, to: number): boolean {
  if (to - from < 2 || (text.charCodeAt(to - 1) | 32) !== 120) return false; // ends in x or X
  for (let i = from; i < to - 1; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Scans outwards from each `@` instead of running one regex over the text: a regex that starts
 * with the local part would retry at every character of a long run like `a.a.a.a…` and turn
 * quadratic, while each character here is visited at most twice (once from the `@` on its left,
 * once from the one on its right), since neither scan crosses another `@`.
 */
function redactEmails(text: string, findings: Findings): string {
  let at = text.indexOf('@');
  if (at === -1) return text;
  let out = '';
  let last = 0;
  while (at !== -1) {
    let start = at;
    while (start > last && isLocalPartChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === 46) start++;
    let end = at + 1;
    while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
    // A sentence may end right after the address: "write to ann@example.com."
    while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45))
      end--;
    if (start < at && isEmailDomain(text, at + 1, end)) {
      out += text.slice(last, start) + EMAIL_MARKER;
      last = end;
      findings.add(RedactionKind.Email);
      at = text.indexOf('@', end);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

const email: TextDetector = { hint: String.raw`[\w.%+-]@[a-z0-9]`, apply: redactEmails };

// --- Payment cards -------------------------------------------------------------------------------

// 13-19 digits, compact or in groups of 3-6 after a first group of 4 (4-4-4-4, Amex 4-6-5,
// Diners 4-6-4). The first digit is 2-6, the range every major network issues from; it also keeps
// millisecond and nanosecond epoch timestamps (which start with 1) from ever reaching Luhn, which
// one in ten of them would pass.
const CARD = /(?<![\w.]|\d[ -])[2-6](?:\d{12,18}|\d{3}(?:[ -]\d{3,6}){2,4})(?!\w|[ -]\d|\.\d)/g;

/**
 * Whether `text` (digits, optionally grouped by spaces or dashes) has the length, leading digit
 * and check digit of a card number.
 */
export function isCardNumber(text: string): boolean {
  const digits = countDigits(text);
  const first = nthDigit(text, 0);
  return digits >= 13 && digits <= 19 && first >= 2 && first <= 6 && luhnCheck(text, true);
}

const card: TextDetector = {
  hint: String.raw`\b[2-6]\d{3}[ -]?\d{3}`,
  apply: wholeMatch(RedactionKind.Card, CARD, isCardNumber),
};

// --- National ids --------------------------------------------------------------------------------

// US social security numbers, dashed only: area 000, 666 and 900-999, group 00 and serial 0000
// are never issued, which keeps most dashed number triples that are not SSNs out.
const SSN = /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g;

const nationalId: TextDetector = {
  hint: String.raw`\b\d{3}-\d\d-\d{4}`,
  apply: wholeMatch(RedactionKind.NationalId, SSN),
};

// --- Phone numbers -------------------------------------------------------------------------------

const PHONE = new RegExp(
  '(?:' +
    [
      // International: "+", then E.164 digits in one run, or a country code followed by groups
      // that each start with a separator or a parenthesised part (which digits may follow
      // directly): +1 (415) 555-0100, +44 20 7946 0958, +33 6 12 34 56 78, +44 (0)20 7946 0958.
      String.raw`(?<![\w+])\+(?:\d{8,15}|\d{1,3}(?:[ .\-]?\(\d{1,4}\)\d{0,10}|[ .\-]\d{1,10}){1,7})`,
      // North American: (415) 555-0100, 415-555-0100, 415.555.0100, 1-800-555-0100.
      String.raw`(?<![\w+.\-/])(?:1[ .\-]?)?(?:\(\d{3}\)[ .\-]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}`,
      // National with a trunk 0, in space-separated groups: 020 7946 0958, 07700 900123,
      // 06 12 34 56 78, (030) 1234 5678. Dashed forms are left out: they are how dates are written.
      String.raw`(?<![\w+.\-/])(?:\(0\d{1,4}\) ?|0\d{1,4} )\d{2,8}(?: \d{2,8}){0,4}`,
    ].join('|') +
    ')' +
    // Not glued to a word, a further dash group or a decimal: "415-555-0100-7", "555.0100.5".
    String.raw`(?![\w\-]|\.\d)`,
  'g',
);

/**
 * Digit counts are checked here rather than in the pattern, where counting across optional
 * separators would need the nested quantifiers that backtrack. North American numbers also need a
 * valid area code and exchange (neither starts with 0 or 1), which rules out most dashed ranges.
 */
function isPhoneNumber(match: string): boolean {
  const digits = countDigits(match);
  if (match.startsWith('+')) return digits >= 8 && digits <= 15;
  const first = nthDigit(match, 0);
  if (first === 0) return digits >= 10 && digits <= 12;
  // 1-800-555-0100: the leading 1 is the country code, not part of the area code.
  const areaStart = digits === 11 && first === 1 ? 1 : 0;
  return (
    digits - areaStart === 10 &&
    nthDigit(match, areaStart) >= 2 &&
    nthDigit(match, areaStart + 3) >= 2
  );
}

const phone: TextDetector = {
  hint: String.raw`\+\d|\d\)|\d{3}[ .-]\d{3}|0\d{1,4} \d`,
  apply: wholeMatch(RedactionKind.Phone, PHONE, isPhoneNumber),
};

// --- Putting them together -----------------------------------------------------------------------

/**
 * Order matters: each detector sees the output of the ones before it, and a marker contains
 * nothing any detector matches. Specific shapes run first so that `Bearer eyJ…` reads
 * `Bearer [REDACTED:jwt]`, `token: sk-…` reports the key, and digits inside an e-mail address are
 * reported as the address. Card and SSN run before phone, whose groupings are looser.
 */
const DETECTORS: readonly TextDetector[] = [
  jwt,
  bearer,
  apiKey,
  privateKey,
  urlCredentials,
  labelledSecret,
  email,
  card,
  nationalId,
  phone,
];

/** No detector can match fewer characters than this (`a@b.co`). */
const MIN_MATCH_LENGTH = 6;

/**
 * One scan that rules out nearly every string of a clean event (ids, enum values, timestamps,
 * prose) before any detector runs: a single regex call costs far less than one per detector.
 */
const HINT = new RegExp(DETECTORS.map((detector) => `(?:${detector.hint})`).join('|'), 'i');

/**
 * Redacts what the text detectors find in `text`, recording each replacement in `findings`.
 * Returns `text` itself when nothing matched.
 */
export function redactString(text: string, findings: Findings): string {
  if (text.length < MIN_MATCH_LENGTH || !HINT.test(text)) return text;
  let out = text;
  for (const detector of DETECTORS) out = detector.apply(out, findings);
  return out;
}
