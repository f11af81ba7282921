import { compilePiiPaths, NO_PATHS, type PathNode, stepPaths } from './pii-paths.js';
import { Findings, RedactionKind, redactionMarker } from './redaction-kind.js';
import { isSecretKey } from './secret-keys.js';
import { isCardNumber, redactString } from './text-detectors.js';

/** Options for {@link redact}. */
export interface RedactOptions {
  /**
   * Dotted paths, relative to the value passed in, whose values are personal data and are replaced
   * whole with `[REDACTED:pii]` whatever they hold (`null` and absent values are left as they
   * are). `*` matches any one key or array item: `['args.customer.email', 'args.items.*.note']`.
   * Array items can also be named by index (`args.items.0`). Keys containing a dot cannot be
   * addressed. Pass the same array for the same schema: its compiled form is cached per array.
   */
  readonly piiPaths?: readonly string[];
}

/** What {@link redact} returns. */
export interface RedactResult {
  /**
   * The redacted value. Containers are copied only along the paths where something was replaced;
   * untouched subtrees, and the whole input when nothing matched, are the caller's own objects.
   * Treat it as read-only.
   */
  readonly value: unknown;
  /** The kinds that were found, sorted and unique. */
  readonly kinds: RedactionKind[];
  /** How many values or substrings were replaced. */
  readonly count: number;
}

const PII_MARKER = redactionMarker(RedactionKind.Pii);
const SECRET_MARKER = redactionMarker(RedactionKind.Secret);
const CARD_MARKER = redactionMarker(RedactionKind.Card);
/** Stands in for a reference back to an ancestor; JSON cannot hold one, so it never does. */
const CIRCULAR = '[Circular]';

/**
 * Redacts a JSON value before it is stored: every string (object keys included) goes through the
 * text detectors, integers that are card numbers become `[REDACTED:card]`, values under keys that
 * name a secret become `[REDACTED:secret]`, and values at `options.piiPaths` become
 * `[REDACTED:pii]`. The input is never mutated; see {@link RedactResult.value} for what is shared.
 *
 * Never throws on JSON input, however deep (the walk uses its own stack, not the call stack) or
 * large. Values JSON cannot produce are tolerated: typed arrays, functions and objects without own
 * enumerable keys (`Date`, `Map`) pass through untouched, other class instances are walked by their
 * own keys (and come back as plain objects if something inside was replaced), and a cycle is cut
 * with `"[Circular]"`.
 *
 * When two keys of one object redact to the same marker, the later one wins in the copy.
 */
export function redact(value: unknown, options?: RedactOptions): RedactResult {
  const findings = new Findings();
  const redacted = redactTree(value, compilePiiPaths(options?.piiPaths), findings);
  return { value: redacted, kinds: findings.kinds(), count: findings.count };
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value);
}

/**
 * One container being walked. A single class for arrays and objects keeps every frame the same
 * shape, which keeps V8's property accesses in the walk loop monomorphic.
 */
class Frame {
  index = 0;
  /** The (possibly redacted) key under which the current child goes into the copy. */
  outKey = '';
  private arrayCopy: unknown[] | undefined = undefined;
  private objectCopy: Record<string, unknown> | undefined = undefined;

  private constructor(
    readonly source: object,
    private readonly items: readonly unknown[] | undefined,
    private readonly keys: readonly string[] | undefined,
    readonly length: number,
    readonly paths: readonly PathNode[],
  ) {}

  static open(container: object, paths: readonly PathNode[]): Frame {
    if (Array.isArray(container)) {
      const items = container as readonly unknown[];
      return new Frame(container, items, undefined, items.length, paths);
    }
    const keys = Object.keys(container);
    return new Frame(container, undefined, keys, keys.length, paths);
  }

  /** The key of the current child; `undefined` in an array. */
  currentKey(): string | undefined {
    return this.keys?.[this.index];
  }

  currentChild(key: string | undefined): unknown {
    return key === undefined
      ? this.items?.[this.index]
      : (this.source as Readonly<Record<string, unknown>>)[key];
  }

  /** Stores the finished current child and moves on, copying the container on first change. */
  settle(value: unknown): void {
    const i = this.index++;
    if (this.items !== undefined) {
      if (this.arrayCopy === undefined) {
        if (Object.is(value, this.items[i])) return;
        this.arrayCopy = this.items.slice(0, i);
      }
      this.arrayCopy.push(value);
      return;
    }
    const keys = this.keys ?? [];
    const source = this.source as Readonly<Record<string, unknown>>;
    if (this.objectCopy === undefined) {
      const key = keys[i] ?? '';
      if (this.outKey === key && Object.is(value, source[key])) return;
      this.objectCopy = {};
      for (let j = 0; j < i; j++) {
        const earlier = keys[j] ?? '';
        setOwn(this.objectCopy, earlier, source[earlier]);
      }
    }
    setOwn(this.objectCopy, this.outKey, value);
  }

  /** The container to put in the parent: the copy if anything changed, else the source. */
  result(): object {
    return this.arrayCopy ?? this.objectCopy ?? this.source;
  }
}

/** JSON.parse makes `__proto__` an own key; plain assignment would set the copy's prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

function redactLeaf(value: unknown, findings: Findings): unknown {
  if (typeof value === 'string') return redactString(value, findings);
  // JSON numbers above 2^53 have already lost digits, but still carry most of a card number.
  const isCard =
    (typeof value === 'number' &&
      Number.isInteger(value) &&
      value >= 1e12 &&
      value < 1e19 &&
      isCardNumber(String(value))) ||
    (typeof value === 'bigint' && isCardNumber(value.toString()));
  if (!isCard) return value;
  findings.add(RedactionKind.Card);
  return CARD_MARKER;
}

/** Secret-named keys whose value says only that no secret is there keep it (`password: null`). */
function holdsSecret(value: unknown): boolean {
  return value !== null && value !== undefined && typeof value !== 'boolean' && value !== '';
}

// Events reuse a small set of key names over and over, so what a key is (plain or secret-naming)
// is remembered instead of running the text detectors and the word split on it each time. Keys in
// which a detector found something are never remembered, so the cache holds nothing the detectors
// recognise as personal data. The cap keeps data used as keys (ids) from growing it without bound.
const KNOWN_KEYS = new Map<string, boolean>();
const KNOWN_KEYS_LIMIT = 4096;

function rememberKey(key: string, redactedKey: string, secret: boolean): void {
  if (redactedKey !== key) return;
  if (KNOWN_KEYS.size >= KNOWN_KEYS_LIMIT) KNOWN_KEYS.clear();
  KNOWN_KEYS.set(key, secret);
}

/** Below this depth a cycle is looked for by scanning the stack; deeper, through a set. */
const SCAN_DEPTH = 32;

function isAncestor(stack: readonly Frame[], ancestors: Set<object> | undefined, child: object) {
  if (ancestors !== undefined) return ancestors.has(child);
  for (const frame of stack) if (frame.source === child) return true;
  return false;
}

/**
 * Walks depth-first with an explicit stack rather than recursion, so that no nesting depth can
 * overflow the call stack. `stack` holds the ancestors of `frame`; a frame is settled into its
 * parent once all its children are.
 */
function redactTree(root: unknown, rootPaths: readonly PathNode[], findings: Findings): unknown {
  if (!isContainer(root)) return redactLeaf(root, findings);
  const stack: Frame[] = [];
  let ancestors: Set<object> | undefined;
  let frame = Frame.open(root, rootPaths);
  for (;;) {
    if (frame.index === frame.length) {
      const parent = stack.pop();
      if (parent === undefined) return frame.result();
      ancestors?.delete(parent.source);
      parent.settle(frame.result());
      frame = parent;
      continue;
    }
    const key = frame.currentKey();
    const child = frame.currentChild(key);
    let secretKey = false;
    if (key !== undefined) {
      const known = KNOWN_KEYS.get(key);
      if (known === undefined) {
        frame.outKey = redactString(key, findings);
        secretKey = isSecretKey(key);
        rememberKey(key, frame.outKey, secretKey);
      } else {
        frame.outKey = key;
        secretKey = known;
      }
    }
    const step =
      frame.paths === NO_PATHS ? undefined : stepPaths(frame.paths, key ?? String(frame.index));
    if (step?.matched === true && child !== null && child !== undefined) {
      findings.add(RedactionKind.Pii);
      frame.settle(PII_MARKER);
    } else if (secretKey && holdsSecret(child)) {
      findings.add(RedactionKind.Secret);
      frame.settle(SECRET_MARKER);
    } else if (!isContainer(child)) {
      frame.settle(redactLeaf(child, findings));
    } else if (child === frame.source || isAncestor(stack, ancestors, child)) {
      frame.settle(CIRCULAR);
    } else {
      stack.push(frame);
      if (ancestors !== undefined) ancestors.add(frame.source);
      else if (stack.length >= SCAN_DEPTH) ancestors = new Set(stack.map((f) => f.source));
      frame = Frame.open(child, step?.next ?? NO_PATHS);
    }
  }
}
