/**
 * The caller's pii paths as a trie, so that matching costs one map lookup per key along the paths
 * actually present in the data, and nothing at all off them.
 */
export interface PathNode {
  readonly children: Map<string, PathNode>;
  /** The node reached through a `*` segment. */
  star: PathNode | undefined;
  /** A path ends here: the value at this node is pii. */
  terminal: boolean;
}

/** Where matching stands after one step down the data. */
export interface PathStep {
  /** The value at this step is pii. */
  readonly matched: boolean;
  /** The nodes still able to match below this value. */
  readonly next: readonly PathNode[];
}

/** The active node list when there are no paths, shared so the common case allocates nothing. */
export const NO_PATHS: readonly PathNode[] = [];
const NO_MATCH: PathStep = { matched: false, next: NO_PATHS };

function newNode(): PathNode {
  return { children: new Map(), star: undefined, terminal: false };
}

const compiled = new WeakMap<readonly string[], readonly PathNode[]>();

/**
 * Compiles dotted paths (`args.customer.email`, `args.items.*.note`) into the root's node list.
 * Segments are matched literally against object keys and array indexes (`items.0.note`); `*`
 * matches any one key or array item. Keys that themselves contain a dot cannot be addressed.
 * Compiled tries are cached per array, so callers that reuse one array per tool schema compile
 * once; an array must therefore not be changed after its first use.
 */
export function compilePiiPaths(paths: readonly string[] | undefined): readonly PathNode[] {
  if (paths === undefined || paths.length === 0) return NO_PATHS;
  const cached = compiled.get(paths);
  if (cached !== undefined) return cached;
  const root = newNode();
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('.')) {
      if (segment === '*') {
        node.star ??= newNode();
        node = node.star;
      } else {
        let child = node.children.get(segment);
        if (child === undefined) {
          child = newNode();
          node.children.set(segment, child);
        }
        node = child;
      }
    }
    node.terminal = true;
  }
  const nodes = [root];
  compiled.set(paths, nodes);
  return nodes;
}

/** Steps from `nodes` into the value under `key` (an object key, or an array index as a string). */
export function stepPaths(nodes: readonly PathNode[], key: string): PathStep {
  let matched = false;
  let next: PathNode[] | undefined;
  for (const node of nodes) {
    for (const child of [node.children.get(key), node.star]) {
      if (child === undefined) continue;
      if (child.terminal) matched = true;
      if (child.star !== undefined || child.children.size > 0) (next ??= []).push(child);
    }
  }
  return matched || next !== undefined ? { matched, next: next ?? NO_PATHS } : NO_MATCH;
}
