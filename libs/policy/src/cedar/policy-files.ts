import * as cedar from './cedar-wasm.js';
import { positionAt } from './source-position.js';
import {
  describe,
  validatePolicySet,
  type CedarIssue,
  type PolicyTexts,
} from './validate-policy-set.js';

/** A published policy file: several Cedar policies in one text. */
export interface PolicyFile {
  /** The file's name (`support-reads.cedar`); ids of un-annotated policies derive from it. */
  readonly name: string;
  readonly text: string;
}

/** Where a policy starts: its file and the 1-based line and column of its first token. */
export interface PolicyOrigin {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One reason a set of files is refused (or a warning), located in its file when known. */
export interface PolicyFileIssue {
  readonly file?: string;
  /** 1-based, relative to the file (not to the policy). */
  readonly line?: number;
  readonly column?: number;
  readonly policyId?: string;
  readonly message: string;
}

/** Policies split out of their files, one per id, and where each came from. */
export interface LoadedPolicyFiles {
  /** `ok` when the files split cleanly and no id repeats (it says nothing of Cedar validity). */
  readonly ok: boolean;
  readonly policies: PolicyTexts;
  readonly origins: Readonly<Record<string, PolicyOrigin>>;
  readonly errors: readonly PolicyFileIssue[];
  readonly warnings: readonly PolicyFileIssue[];
}

/** The verdict of {@link checkPolicyFiles}: `ok` only when the whole set may be published. */
export type PolicyFilesCheck = LoadedPolicyFiles;

/** One policy's text inside its file: from its first token to its closing `;`. */
interface PolicyChunk {
  /** UTF-16 index of the first token in the file. */
  readonly start: number;
  readonly text: string;
}

/**
 * Splits files into one policy per id (issue 5: ids must survive into Cedar's `staticPolicies`,
 * because Cedar ignores `@id` when a set is one string). The id is the policy's `@id("…")` when it
 * has one, else `<file name without .cedar>.<n>` (1-based position in its file). A repeated id or
 * file name is an error. Never throws.
 */
export function loadPolicyFiles(files: readonly PolicyFile[]): LoadedPolicyFiles {
  const policies: Record<string, string> = {};
  const origins: Record<string, PolicyOrigin> = {};
  const errors: PolicyFileIssue[] = [];
  const warnings: PolicyFileIssue[] = [];
  const names = new Set<string>();
  try {
    for (const file of files) {
      if (names.has(file.name)) {
        errors.push({ file: file.name, message: 'the same file name is given twice' });
        continue;
      }
      names.add(file.name);
      const chunks = splitPolicies(file.text);
      if (chunks.length === 0) warnings.push({ file: file.name, message: 'holds no policy' });
      errors.push(...crossCheckSplit(file, chunks.length));
      chunks.forEach((chunk, index) => {
        const origin = { file: file.name, ...lineAndColumn(file.text, chunk.start) };
        const annotated = idAnnotation(chunk.text);
        if (annotated === '') {
          errors.push({ ...origin, message: '@id must not be empty' });
          return;
        }
        const id = annotated ?? `${file.name.replace(/\.cedar$/, '')}.${index + 1}`;
        const first = origins[id];
        if (first !== undefined) {
          errors.push({
            ...origin,
            policyId: id,
            message: `duplicate policy id "${id}" (first at ${first.file}:${first.line})`,
          });
          return;
        }
        policies[id] = chunk.text;
        origins[id] = origin;
      });
    }
  } catch (error) {
    errors.push({ message: `could not split the policy files: ${describe(error)}` });
  }
  return { ok: errors.length === 0, policies, origins, errors, warnings };
}

/**
 * Checks files the way publishing must: split them ({@link loadPolicyFiles}), validate the whole
 * set against the schema in strict mode (`validatePolicySet`: syntax, types, unknown attributes,
 * unguarded optional attributes) and check Warden's annotations. Reports every error with its
 * file and its line and column in that file. Never throws.
 */
export function checkPolicyFiles(
  schemaText: string,
  files: readonly PolicyFile[],
): PolicyFilesCheck {
  const loaded = loadPolicyFiles(files);
  const errors = [...loaded.errors];
  const warnings = [...loaded.warnings];
  const validation = validatePolicySet(schemaText, loaded.policies);
  const locate = (issue: CedarIssue): PolicyFileIssue => locateIssue(issue, loaded.origins);
  errors.push(...validation.errors.map(locate));
  warnings.push(...validation.warnings.map(locate));
  // With a syntax error anywhere, validatePolicySet stops before the validator. Validate the
  // policies that did parse too, so one publish attempt shows every error.
  const unparsed = new Set(validation.errors.map((issue) => issue.policyId));
  if (!validation.ok && !unparsed.has(undefined)) {
    const parsed = Object.fromEntries(
      Object.entries(loaded.policies).filter(([id]) => !unparsed.has(id)),
    );
    const rest = validatePolicySet(schemaText, parsed);
    errors.push(...rest.errors.map(locate));
    warnings.push(...rest.warnings.map(locate));
  }
  const annotations = annotationIssues(loaded.policies);
  errors.push(...annotations.errors.map(locate));
  warnings.push(...annotations.warnings.map(locate));
  return {
    ok: errors.length === 0,
    policies: loaded.policies,
    origins: loaded.origins,
    errors,
    warnings,
  };
}

/**
 * Warden's own annotation rules: `@approval("<group>")` names a group and sits on a permit (on a
 * forbid it would mean nothing, and an author who wrote it expects something); a
 * `@separation_of_duties` without `@approval` has no approval to constrain. Policies that do not
 * parse are skipped: their syntax error is reported by the validator.
 */
export function annotationIssues(policies: PolicyTexts): {
  errors: CedarIssue[];
  warnings: CedarIssue[];
} {
  const errors: CedarIssue[] = [];
  const warnings: CedarIssue[] = [];
  for (const [policyId, text] of Object.entries(policies)) {
    const parsed = cedar.policyToJson(text);
    if (parsed.type === 'failure') continue;
    const annotations = parsed.json.annotations ?? {};
    if ('approval' in annotations) {
      const group = annotations.approval as unknown; // null for a bare `@approval`
      if (typeof group !== 'string' || group.trim() === '') {
        errors.push({ policyId, message: '@approval must name a group: @approval("<group>")' });
      }
      if (parsed.json.effect !== 'permit') {
        errors.push({ policyId, message: '@approval applies only to a permit' });
      }
    } else if ('separation_of_duties' in annotations) {
      warnings.push({ policyId, message: '@separation_of_duties has no effect without @approval' });
    }
  }
  return { errors, warnings };
}

/** A Cedar issue (lines relative to its policy) relocated into the policy's file. */
function locateIssue(
  issue: CedarIssue,
  origins: Readonly<Record<string, PolicyOrigin>>,
): PolicyFileIssue {
  const origin = issue.policyId === undefined ? undefined : origins[issue.policyId];
  if (origin === undefined) {
    // About the schema or the set as a whole: its line (if any) is the schema's.
    return issue.policyId === undefined && issue.line !== undefined
      ? { ...issue, message: `schema: ${issue.message}` }
      : issue;
  }
  const where =
    issue.line === undefined
      ? { line: origin.line, column: origin.column }
      : {
          line: origin.line + issue.line - 1,
          column: issue.line === 1 ? origin.column + (issue.column ?? 1) - 1 : (issue.column ?? 1),
        };
  return { file: origin.file, ...where, policyId: issue.policyId, message: issue.message };
}

/**
 * Splits Cedar text at each `;` outside strings and comments. Cedar's grammar has no other `;`
 * (a policy is `annotations effect (scope) conditions ;`), so this is exact for valid text, and
 * for broken text it still yields located pieces that are each parsed and reported. Text after
 * the last `;` that is not blank or comment is a chunk of its own (Cedar then reports the missing
 * end). Cedar's own `policySetTextToParts` gives no offsets, hence this scanner.
 */
export function splitPolicies(text: string): PolicyChunk[] {
  const chunks: PolicyChunk[] = [];
  let start = -1;
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    if (char === undefined || /\s/.test(char)) {
      i += 1;
      continue;
    }
    if (start === -1) start = i;
    if (char === '"') {
      i += 1;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i += 1;
      continue;
    }
    i += 1;
    if (char === ';') {
      chunks.push({ start, text: text.slice(start, i) });
      start = -1;
    }
  }
  if (start !== -1) chunks.push({ start, text: text.slice(start).trimEnd() });
  return chunks;
}

/**
 * Guards the scanner: when Cedar parses the file as a whole, it must see as many policies as the
 * scanner did. A mismatch would mean a policy lost or glued to another, so it refuses the file.
 */
function crossCheckSplit(file: PolicyFile, count: number): PolicyFileIssue[] {
  const parts = cedar.policySetTextToParts(file.text);
  if (parts.type === 'failure') return []; // located per policy by the validator
  const found = parts.policies.length + parts.policy_templates.length;
  if (parts.policy_templates.length > 0) {
    return [{ file: file.name, message: 'templates (?principal, ?resource) are not supported' }];
  }
  return found === count
    ? []
    : [{ file: file.name, message: `split into ${count} policies but Cedar sees ${found}` }];
}

/**
 * The value of the policy's `@id` annotation, `''` for an empty one, undefined when absent. Read
 * with Cedar's parser (so escapes are decoded) or, when the policy does not parse, from its
 * leading annotations, so a broken policy keeps its id in the error report.
 */
function idAnnotation(text: string): string | undefined {
  const parsed = cedar.policyToJson(text);
  if (parsed.type === 'success') {
    // Cedar's types say string, but a bare `@id` arrives as null.
    const id = parsed.json.annotations?.id as string | null | undefined;
    return id === undefined ? undefined : (id ?? '');
  }
  const leading = /^(?:\s*@[A-Za-z_]\w*\s*(?:\(\s*"(?:[^"\\\n]|\\.)*"\s*\))?)*/.exec(text)?.[0];
  const raw = leading === undefined ? undefined : /@id\s*\(\s*"((?:[^"\\\n]|\\.)*)"/.exec(leading);
  if (raw?.[1] === undefined) return undefined;
  try {
    return JSON.parse(`"${raw[1]}"`) as string;
  } catch {
    return raw[1];
  }
}

/** The 1-based line and column (in code points) of a UTF-16 index. */
function lineAndColumn(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const bytes = Buffer.byteLength(before, 'utf8');
  return positionAt(text, bytes) ?? { line: 1, column: 1 };
}
