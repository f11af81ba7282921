import { type Document, isNode, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { type z } from 'zod';
import { DECLARATION_LIMITS } from './limits.js';
import { formatPath, type PathIssue, type PathSegment } from './paths.js';
import { referenceIssuesOfRaw, ToolDeclaration } from './tool-declaration.js';

/** One problem in a declaration: where (dotted path, and line/column when the text locates it) and why. */
export interface DeclarationError {
  /** Dotted path into the declaration (`args.properties.status.enum.1`); `''` is the whole text. */
  readonly path: string;
  readonly message: string;
  /** 1-based line and column in the text, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** The outcome of {@link parseToolDeclaration}. */
export type ParseToolResult =
  | { readonly ok: true; readonly tool: ToolDeclaration }
  | { readonly ok: false; readonly errors: readonly DeclarationError[] };

/** Options of {@link parseToolDeclaration}. */
export interface ParseToolOptions {
  /**
   * `yaml` (the default) also reads JSON, which is YAML 1.2 flow syntax; `json` insists on strict
   * JSON (JSON.parse).
   */
  readonly format?: 'yaml' | 'json';
}

/**
 * Parses and checks a tool declaration written in YAML or JSON. Returns the typed declaration, or
 * every error found: syntax errors with line and column (then nothing else, since the structure
 * is unknown), otherwise every schema error with its path, located in the text where possible.
 * Never throws.
 */
export function parseToolDeclaration(
  text: string,
  options: ParseToolOptions = {},
): ParseToolResult {
  try {
    return parse(text, options.format ?? 'yaml');
  } catch (error) {
    // Defence in depth: nothing below is expected to throw, but a registry must not crash on input.
    const reason = error instanceof Error ? error.message : 'unknown error';
    return { ok: false, errors: [{ path: '', message: `could not be read: ${reason}` }] };
  }
}

function parse(text: string, format: 'yaml' | 'json'): ParseToolResult {
  if (typeof text !== 'string') return fail([{ path: '', message: 'must be text' }]);
  if (text.length > DECLARATION_LIMITS.maxTextLength) {
    return fail([
      { path: '', message: `is longer than ${DECLARATION_LIMITS.maxTextLength} characters` },
    ]);
  }
  const lines = new LineCounter();
  // Strict reading: duplicate keys are errors, keys are strings, no `<<` merges, YAML 1.2 core
  // types only (so `yes` stays a string), and alias expansion is bounded against "billion laughs".
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    merge: false,
    schema: 'core',
    stringKeys: true,
    prettyErrors: false,
  });
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'invalid JSON';
      return fail([
        { path: '', message: `invalid JSON: ${message}`, ...locateJsonError(message, doc, lines) },
      ]);
    }
  } else {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) return fail(problems.map((problem) => yamlError(problem, lines)));
    raw = doc.toJS({ maxAliasCount: 100 });
  }
  const depth = depthExceeding(raw, DECLARATION_LIMITS.maxDeclarationDepth);
  if (depth !== undefined) {
    return fail([
      {
        path: formatPath(depth),
        message: `nests deeper than ${DECLARATION_LIMITS.maxDeclarationDepth} levels`,
      },
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail([
      { path: '', message: 'a declaration must be a mapping of fields (name, version, kind, …)' },
    ]);
  }
  const parsed = ToolDeclaration.safeParse(raw);
  if (parsed.success) return { ok: true, tool: parsed.data };
  const issues = [
    ...flattenIssues(parsed.error.issues, [], raw),
    ...referenceIssuesOfRaw(raw as Record<string, unknown>),
  ];
  const errors = dedupe(issues).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
    ...locatePath(doc, lines, issue.path),
  }));
  const shown = errors.slice(0, DECLARATION_LIMITS.maxErrors);
  if (errors.length > shown.length) {
    shown.push({ path: '', message: `${errors.length - shown.length} more errors not listed` });
  }
  return fail(shown);
}

function fail(errors: DeclarationError[]): ParseToolResult {
  return { ok: false, errors };
}

function yamlError(error: YAMLError, lines: LineCounter): DeclarationError {
  // The library's messages end with a source excerpt when prettyErrors is on; it is off, so the
  // message is one line and the position is ours to add.
  return { path: '', message: `YAML: ${error.message}`, ...locate(lines, error.pos[0]) };
}

/**
 * Where JSON.parse failed: V8 names a character offset for most errors ("at position 35") but not
 * all ("Unexpected token"); then the YAML reading of the same text usually locates it.
 */
function locateJsonError(
  message: string,
  doc: Document,
  lines: LineCounter,
): { line?: number; column?: number } {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return locate(lines, Number(position));
  const yamlError = doc.errors[0];
  return yamlError === undefined ? {} : locate(lines, yamlError.pos[0]);
}

function locate(lines: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** The line of the node at `path`, or of its nearest ancestor present in the text (a missing key). */
function locatePath(
  doc: Document,
  lines: LineCounter,
  path: readonly PathSegment[],
): { line?: number; column?: number } {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range !== undefined && node.range !== null)
      return locate(lines, node.range[0]);
  }
  return {};
}

/**
 * zod issues as path issues: a union reports the branch that came closest (fewest issues) instead
 * of "Invalid input"; unrecognised keys become one issue per key; a missing field says so.
 */
function flattenIssues(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PathSegment[],
  root: unknown,
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path.filter(isSegment)];
    if (issue.code === 'invalid_union') {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      if (closest === undefined || closest.length === 0) out.push({ path, message: issue.message });
      else out.push(...flattenIssues(closest, path, root));
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: [...path, key], message: 'is not a known field' });
    } else if (issue.code !== 'custom' && valueAt(root, path) === undefined) {
      out.push({ path, message: 'is required' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function isSegment(key: PropertyKey): key is PathSegment {
  return typeof key === 'string' || typeof key === 'number';
}

function dedupe(issues: readonly PathIssue[]): PathIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${formatPath(issue.path)}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The path of the first container nested deeper than `max`, found without recursion. */
function depthExceeding(value: unknown, max: number): PathSegment[] | undefined {
  const stack: { value: unknown; path: PathSegment[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === undefined) break;
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.path.length >= max) return next.path;
    const entries: [PathSegment, unknown][] = Array.isArray(next.value)
      ? (next.value as readonly unknown[]).map((item, index) => [index, item])
      : Object.entries(next.value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...next.path, key] });
  }
  return undefined;
}

/** The value at `path` in the parsed declaration, own properties only. */
function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment))
      return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}
