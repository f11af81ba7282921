import { DECLARATION_LIMITS } from './limits.js';

/** Variable-width quantifiers allowed in one pattern; see {@link unsafePatternReason}. */
export const MAX_VARIABLE_QUANTIFIERS = 2;

/**
 * Why a `pattern` is refused, or `undefined` when it is accepted.
 *
 * Node's regex engine backtracks, so a hostile or careless pattern can take exponential or high
 * polynomial time on a short string (ReDoS) and stall a stage that validates every intent. This
 * is a conservative syntactic check, not a proof. It refuses:
 * - sources longer than {@link DECLARATION_LIMITS.maxPatternLength} or invalid with the `u` flag;
 * - back-references (`\1`, `\k<name>`) and look-arounds, which no argument format needs;
 * - a repeated group (`*`, `+` or `{…}` after `)`) that contains a quantifier or an alternation:
 *   `(a+)+`, `(a|aa)*`, `([a-z]+\.)+` — the shapes behind exponential backtracking;
 * - a pattern not anchored with a leading `^`, or with a top-level `|` (which would unanchor a
 *   branch): unanchored, every start position multiplies the work;
 * - more than {@link MAX_VARIABLE_QUANTIFIERS} variable-width quantifiers (`?`, `*`, `+`, `{n,}`,
 *   `{n,m}`): with the rules above, backtracking is then at most quadratic in the subject, and the
 *   schema checker bounds the subject by requiring `maxLength` ≤
 *   {@link DECLARATION_LIMITS.maxPatternSubjectLength} beside every `pattern`.
 */
export function unsafePatternReason(source: string): string | undefined {
  if (source.length > DECLARATION_LIMITS.maxPatternLength) {
    return `is longer than ${DECLARATION_LIMITS.maxPatternLength} characters`;
  }
  try {
    new RegExp(source, 'u');
  } catch (error) {
    return `is not a valid regular expression (${error instanceof Error ? error.message : 'unknown error'})`;
  }
  return scanForUnsafeShapes(source);
}

interface GroupFrame {
  quantified: boolean;
  alternation: boolean;
}

/** Walks the (already valid) source once, tracking groups; character classes are skipped. */
function scanForUnsafeShapes(source: string): string | undefined {
  if (!source.startsWith('^')) return 'is not anchored: start it with ^';
  const stack: GroupFrame[] = [{ quantified: false, alternation: false }];
  let variable = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const frame = stack[stack.length - 1];
    if (frame === undefined) return 'has unbalanced groups';
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'uses a back-reference';
      // \p{…}, \u{…} and \x.. are atoms; skipping the escaped character is enough here.
      i += 2;
      continue;
    }
    if (ch === '[') {
      i = skipClass(source, i);
      continue;
    }
    if (ch === '(') {
      if (source.startsWith('(?=', i) || source.startsWith('(?!', i)) return 'uses a look-ahead';
      if (source.startsWith('(?<=', i) || source.startsWith('(?<!', i)) {
        return 'uses a look-behind';
      }
      stack.push({ quantified: false, alternation: false });
      // Skip the group's own syntax, so its `?` is not read as a quantifier.
      if (source.startsWith('(?:', i)) i += 3;
      else if (source.startsWith('(?<', i)) i = source.indexOf('>', i) + 1;
      else i += 1;
      continue;
    }
    if (ch === ')') {
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent === undefined) return 'has unbalanced groups';
      const repeat = repetitionAt(source, i + 1);
      if (repeat > 0 && !isFixedCount(source, i + 1)) variable++;
      if (repeat > 0) {
        if (frame.quantified || frame.alternation) {
          return 'repeats a group that itself contains a quantifier or an alternation (catastrophic backtracking)';
        }
        parent.quantified = true;
        i += 1 + repeat;
        continue;
      }
      // `(…)?` may hold quantifiers: it runs at most once, so it cannot multiply backtracking.
      if (frame.quantified) parent.quantified = true;
      i += 1;
      continue;
    }
    if (ch === '|') {
      if (stack.length === 1) return 'has a top-level "|": group the alternatives, as in ^(a|b)$';
      frame.alternation = true;
      i += 1;
      continue;
    }
    const repeat = repetitionAt(source, i);
    if (repeat > 0) {
      if (!isFixedCount(source, i)) variable++;
      frame.quantified = true;
      i += repeat;
      continue;
    }
    if (ch === '?') variable++;
    i += 1;
  }
  if (variable > MAX_VARIABLE_QUANTIFIERS) {
    return `has ${variable} variable-width quantifiers (at most ${MAX_VARIABLE_QUANTIFIERS}): use a format, or fixed counts such as {4}`;
  }
  return undefined;
}

/** Index just past the `]` closing the class that opens at `start`. */
function skipClass(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

/**
 * Length of a repeating quantifier at `i` (`*`, `+`, `{n}`, `{n,}`, `{n,m}`, with a lazy `?`), or
 * 0. A lone `?` is not repetition.
 */
function repetitionAt(source: string, i: number): number {
  const ch = source[i];
  let length = 0;
  if (ch === '*' || ch === '+') length = 1;
  else if (ch === '{') {
    const match = /^\{\d+(,\d*)?\}/.exec(source.slice(i, i + 24));
    length = match?.[0].length ?? 0;
  }
  if (length > 0 && source[i + length] === '?') length += 1;
  return length;
}

/** Whether the quantifier at `i` is an exact count (`{4}`), which adds no backtracking. */
function isFixedCount(source: string, i: number): boolean {
  return /^\{\d+\}/.test(source.slice(i, i + 24));
}
