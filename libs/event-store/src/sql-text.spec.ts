import { describe, expect, it } from 'vitest';
import { EventStoreErrorCode, isEventStoreError } from './event-store.errors.js';
import { splitSqlStatements, toReadOnlyStatement } from './sql-text.js';

describe('splitSqlStatements', () => {
  it('splits at semicolons outside strings, identifiers and comments', () => {
    const sql = [
      '-- leading comment; not a statement',
      "CREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory;",
      '/* block; /* nested; */ still comment; */',
      "SELECT \"odd;name\", `other;name`, 'it''s;', 'back\\'slash;' FROM a;",
      '# hash comment;',
      'SELECT $$heredoc; text$$, $tag$more; text$tag$',
      ';;',
    ].join('\n');
    expect(splitSqlStatements(sql)).toEqual([
      "CREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory",
      "SELECT \"odd;name\", `other;name`, 'it''s;', 'back\\'slash;' FROM a",
      'SELECT $$heredoc; text$$, $tag$more; text$tag$',
    ]);
  });

  it('keeps comments inside a statement', () => {
    expect(splitSqlStatements('SELECT 1 -- one\n, 2 /* two */;')).toEqual(['SELECT 1 -- one\n, 2']);
  });

  it('refuses text that ends inside a string or comment', () => {
    expect(() => splitSqlStatements("SELECT 'open")).toThrow(/unterminated string/);
    expect(() => splitSqlStatements('SELECT 1 /* open /* nested */')).toThrow(
      /unterminated comment/,
    );
  });
});

describe('toReadOnlyStatement', () => {
  it.each([
    ['SELECT 1', 'SELECT 1'],
    ['  select 1 ;  ', 'select 1'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH x AS (SELECT 1) SELECT * FROM x'],
    ['(SELECT 1) UNION ALL (SELECT 2)', '(SELECT 1) UNION ALL (SELECT 2)'],
    ['SHOW TABLES', 'SHOW TABLES'],
    ['DESCRIBE TABLE events', 'DESCRIBE TABLE events'],
    ['desc events', 'desc events'],
    ['EXPLAIN SELECT 1', 'EXPLAIN SELECT 1'],
    ['-- why\nSELECT 1 -- trailing', 'SELECT 1'],
    ["SELECT 'DROP TABLE events; INSERT'", "SELECT 'DROP TABLE events; INSERT'"],
    ['SELECT 1 AS `into`, 2 AS outfile', 'SELECT 1 AS `into`, 2 AS outfile'],
  ])('accepts %j', (sql, statement) => {
    expect(toReadOnlyStatement(sql)).toBe(statement);
  });

  it.each([
    ['DROP TABLE events', /starts with "DROP"/],
    ['insert into events values (1)', /starts with "INSERT"/],
    ['ALTER TABLE events DELETE WHERE 1', /starts with "ALTER"/],
    ['SET readonly = 0', /starts with "SET"/],
    ['SELECT 1; DROP TABLE events', /2 statements/],
    ['SELECT 1;;SELECT 2', /2 statements/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE/],
    ["SELECT 1 into /* sneaky */ outfile '/tmp/x'", /INTO OUTFILE/],
    ['', /empty/],
    [' ; -- nothing', /empty/],
    ["SELECT 'unterminated", /unterminated string/],
    ['(', /starts with nothing/],
    ['"SELECT" 1', /starts with "SELECT"\./],
  ])('refuses %j', (sql, reason) => {
    let caught: unknown;
    try {
      toReadOnlyStatement(sql);
    } catch (error) {
      caught = error;
    }
    expect(isEventStoreError(caught, EventStoreErrorCode.NotReadOnly)).toBe(true);
    expect((caught as Error).message).toMatch(/^Only reads are allowed here/);
    expect((caught as Error).message).toMatch(reason);
  });
});
