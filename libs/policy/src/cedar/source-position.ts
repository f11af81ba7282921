/** A 1-based line and column (in code points) of a place in a text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * Turns a Cedar source offset into a line and column. Cedar reports offsets in UTF-8 bytes (it is
 * Rust underneath), not UTF-16 units, so a comment with `é` before the error would shift a naive
 * `text.slice` by one per multi-byte character. Returns undefined for an offset outside the text.
 */
export function positionAt(text: string, byteOffset: number): SourcePosition | undefined {
  if (!Number.isInteger(byteOffset) || byteOffset < 0) return undefined;
  let bytes = 0;
  let line = 1;
  let column = 1;
  for (const char of text) {
    if (bytes >= byteOffset) return { line, column };
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (char === '\n') {
      line += 1;
      column = 1;
    } else {
      column += 1;
    }
  }
  // An offset equal to the length points just past the end ("unexpected end of input").
  return bytes === byteOffset ? { line, column } : undefined;
}
