import type { ToolArgs } from '../../domain/tools.js';

/**
 * A string with `{name}` placeholders, each naming a top-level arg. Split once at `prepare`, so a
 * call only substitutes.
 */
export interface Template {
  readonly source: string;
  /** Literal text and placeholders, in order. */
  readonly parts: readonly TemplatePart[];
}

export type TemplatePart = { readonly literal: string } | { readonly arg: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a template, or says what is wrong with it (a bad name, a stray brace). */
export function parseTemplate(source: string): Template | { readonly error: string } {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!ARG_NAME.test(name)) return { error: `{${name}} is not a top-level arg name` };
    if (match.index > last) parts.push({ literal: source.slice(last, match.index) });
    parts.push({ arg: name });
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ literal: source.slice(last) });
  if (parts.some((part) => 'literal' in part && /[{}]/.test(part.literal))) {
    return { error: 'has an unmatched "{" or "}"' };
  }
  return { source, parts };
}

/** The arg names a template refers to. */
export function argsOf(template: Template): string[] {
  return template.parts.flatMap((part) => ('arg' in part ? [part.arg] : []));
}

/** Why an arg cannot fill a placeholder. */
export class TemplateArgError extends Error {
  override readonly name = 'TemplateArgError';
}

/** Whether every arg the template names is present (not `undefined`) in `args`. */
export function hasAllArgs(template: Template, args: ToolArgs): boolean {
  return argsOf(template).every((name) => args[name] !== undefined);
}

/**
 * Percent-encodes a value so that it stays one path segment or one query value: every byte
 * except letters, digits, `-`, `_` and `~` is encoded, `.` included, so `..`, `/`, `?`, `#`, `&`,
 * `=`, `%2e` and CR/LF in an arg can change neither the path, nor the query, nor the headers.
 */
export function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value).replace(
      /[!'()*.]/g,
      (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    throw new TemplateArgError('is not valid Unicode (a lone surrogate)');
  }
}

/** The text of a scalar arg; throws {@link TemplateArgError} for anything else. */
export function scalarText(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new TemplateArgError(
    `arg ${name} is ${kind}: only strings, numbers and booleans fill a template`,
  );
}

/**
 * Fills a template with args, each value passed through `encode` (identity for a JSON body), and
 * the literal text too when `encodeLiterals` (a query value: the section's own text is not
 * checked for URL characters). Throws {@link TemplateArgError} if an arg is absent or not a scalar.
 */
export function expandTemplate(
  template: Template,
  args: ToolArgs,
  encode: (text: string) => string,
  encodeLiterals = false,
): string {
  return template.parts
    .map((part) => {
      if ('literal' in part) return encodeLiterals ? encode(part.literal) : part.literal;
      const value = args[part.arg];
      if (value === undefined) throw new TemplateArgError(`arg ${part.arg} is missing`);
      try {
        return encode(scalarText(part.arg, value));
      } catch (error) {
        if (error instanceof TemplateArgError && !error.message.startsWith('arg '))
          throw new TemplateArgError(`arg ${part.arg} ${error.message}`);
        throw error;
      }
    })
    .join('');
}

/**
 * Expands the path template, one encoded value per placeholder, and refuses a segment that would
 * be empty, `.` or `..` once decoded (a server that decodes before routing would climb the path).
 */
export function expandPath(template: Template, args: ToolArgs): string {
  for (const name of argsOf(template)) {
    if (args[name] === '')
      throw new TemplateArgError(`arg ${name} is empty: it would drop a path segment`);
  }
  const path = expandTemplate(template, args, encodeComponent);
  for (const segment of path.split('/').slice(1)) {
    const decoded = decodeURIComponent(segment);
    if (decoded === '.' || decoded === '..')
      throw new TemplateArgError(`the path would hold a "${decoded}" segment`);
  }
  return path;
}
