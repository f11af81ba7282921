/** One step of a path: a property name or an array index. */
export type PathSegment = string | number;

/** A problem found at a place in a document or a value, before it is formatted for people. */
export interface PathIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/**
 * A path as reported: segments joined by `.` (`args.properties.status.enum`, `ticket_ids.3`); the
 * root is `''`. Unambiguous because property names can contain no dot (see `PROPERTY_NAME_PATTERN`).
 */
export function formatPath(path: readonly PathSegment[]): string {
  return path.join('.');
}
