import { EventStoreError } from './event-store.errors.js';

/** A lexical token of ClickHouse SQL that matters for splitting and classifying statements. */
interface Token {
  kind: 'word' | 'semicolon' | 'open' | 'close' | 'other';
  /** Upper-cased for words, verbatim otherwise. */
  text: string;
  start: number;
  end: number;
}

interface Scan {
  tokens: Token[];
  /** Set when the text ends inside a string, quoted identifier or comment. */
  unterminated: 'string' | 'identifier' | 'comment' | undefined;
}

const isWordStart = (c: string) => /[A-Za-z_]/.test(c);
const isWordPart = (c: string) => /[A-Za-z0-9_$]/.test(c);

/**
 * Scans ClickHouse SQL just far enough to know where statements end and which keywords are not
 * inside strings, quoted identifiers or comments. It follows ClickHouse's lexer where that matters:
 * `--`, `#` and `#!` line comments; `/* … *\/` block comments, which nest; '…' strings, "…" and
 * `…` identifiers, with backslash escapes and doubled quotes; `$tag$…$tag$` heredoc strings.
 */
function scan(sql: string): Scan {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charAt(i);
    const next = sql.charAt(i + 1);
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      if (depth > 0) return { tokens, unterminated: 'comment' };
    } else if (c === "'" || c === '"' || c === '`') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const d = sql.charAt(i);
        if (d === '\\') {
          i += 2;
        } else if (d === c && sql.charAt(i + 1) === c) {
          i += 2;
        } else if (d === c) {
          i++;
          closed = true;
          break;
        } else {
          i++;
        }
      }
      if (!closed) return { tokens, unterminated: c === "'" ? 'string' : 'identifier' };
      tokens.push({ kind: 'other', text: sql.slice(start, i), start, end: i });
    } else if (c === '$' && /^\$[A-Za-z0-9_]*\$/.test(sql.slice(i, i + 66))) {
      const tag = /^\$[A-Za-z0-9_]*\$/.exec(sql.slice(i, i + 66))?.[0] ?? '$$';
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) return { tokens, unterminated: 'string' };
      tokens.push({
        kind: 'other',
        text: sql.slice(i, close + tag.length),
        start: i,
        end: close + tag.length,
      });
      i = close + tag.length;
    } else if (isWordStart(c)) {
      const start = i;
      while (i < n && isWordPart(sql.charAt(i))) i++;
      tokens.push({ kind: 'word', text: sql.slice(start, i).toUpperCase(), start, end: i });
    } else {
      const kind = c === ';' ? 'semicolon' : c === '(' ? 'open' : c === ')' ? 'close' : 'other';
      tokens.push({ kind, text: c, start: i, end: i + 1 });
      i++;
    }
  }
  return { tokens, unterminated: undefined };
}

/** Groups tokens into statements at top-level semicolons, dropping empty statements. */
function statementsOf(tokens: readonly Token[]): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  for (const token of tokens) {
    if (token.kind === 'semicolon') {
      if (current.length > 0) statements.push(current);
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

function textOf(sql: string, statement: readonly Token[]): string {
  const first = statement[0];
  const last = statement[statement.length - 1];
  return first === undefined || last === undefined ? '' : sql.slice(first.start, last.end);
}

/**
 * Splits a migration file into statements at semicolons outside strings and comments. Comments
 * before and after a statement are dropped; comments inside it are kept.
 *
 * @throws Error when the text ends inside a string, identifier or comment.
 */
export function splitSqlStatements(sql: string): string[] {
  const { tokens, unterminated } = scan(sql);
  if (unterminated !== undefined)
    throw new Error(`the SQL ends inside an unterminated ${unterminated}`);
  return statementsOf(tokens).map((statement) => textOf(sql, statement));
}

/** The statements `readOnlyQuery` accepts, by their first keyword. */
export const READ_STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  'SELECT',
  'WITH',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXPLAIN',
]);

/**
 * Checks that `sql` is exactly one read statement and returns it without the trailing semicolon.
 * This is the first of two guards: the engine runs the statement with `readonly = 1` as well, so
 * a write that slips past this text check is still refused. The text check exists for the clear
 * message, and for what `readonly` does not cover: chDB (clickhouse-local underneath) still writes
 * `INTO OUTFILE` files in read-only mode, and several statements in one text would otherwise run
 * one after another on chDB.
 *
 * @throws EventStoreError `not_read_only`
 */
export function toReadOnlyStatement(sql: string): string {
  const { tokens, unterminated } = scan(sql);
  if (unterminated !== undefined) {
    throw EventStoreError.notReadOnly(`The text ends inside an unterminated ${unterminated}.`);
  }
  const statements = statementsOf(tokens);
  const [statement] = statements;
  if (statement === undefined) throw EventStoreError.notReadOnly('The text is empty.');
  if (statements.length > 1) {
    throw EventStoreError.notReadOnly(
      `Found ${statements.length} statements separated by ";"; send one at a time.`,
    );
  }
  const keyword = statement.find((token) => token.kind !== 'open');
  if (keyword?.kind !== 'word' || !READ_STATEMENT_KEYWORDS.has(keyword.text)) {
    const found =
      keyword === undefined
        ? 'nothing'
        : keyword.kind === 'word'
          ? `"${keyword.text}"`
          : keyword.text;
    throw EventStoreError.notReadOnly(`The statement starts with ${found}.`);
  }
  statement.forEach((token, index) => {
    const following = statement[index + 1];
    if (token.text === 'INTO' && following?.kind === 'word' && following.text === 'OUTFILE') {
      throw EventStoreError.notReadOnly('INTO OUTFILE would write a file.');
    }
  });
  return textOf(sql, statement);
}
