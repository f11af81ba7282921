/**
 * One entry of KV `revocations`: a token (`jti.<jti>`) or every token of an agent issued before
 * an instant (`agent.<id>`).
 */
export type Revocation =
  | { readonly kind: 'jti'; readonly jti: string; /** Epoch ms. */ readonly revokedAtMs: number }
  | {
      readonly kind: 'agent';
      readonly agentId: string;
      /** Epoch ms; also when it was revoked. */
      readonly issuedBeforeMs: number;
    };

/** The KV value of a revocation. */
export interface RevocationValue {
  /** Epoch ms: the revocation of a jti. */
  readonly revoked_at_ms?: number;
  /** Epoch ms: the cut-off of an agent. */
  readonly issued_before_ms?: number;
}

/** A jti this broker makes (a ULID) or one a client could send: KV-key safe, bounded. */
export const REVOCABLE_JTI_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** The KV key of a revocation. */
export function revocationKey(revocation: Revocation): string {
  return revocation.kind === 'jti' ? `jti.${revocation.jti}` : `agent.${revocation.agentId}`;
}

/** The revocation a KV key and value describe, or `undefined` for anything else. */
export function revocationOf(key: string, value: unknown): Revocation | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { revoked_at_ms: revokedAtMs, issued_before_ms: issuedBeforeMs } = value as Record<
    string,
    unknown
  >;
  if (key.startsWith('jti.')) {
    const jti = key.slice('jti.'.length);
    if (!REVOCABLE_JTI_PATTERN.test(jti) || !isFiniteNumber(revokedAtMs)) return undefined;
    return { kind: 'jti', jti, revokedAtMs };
  }
  if (key.startsWith('agent.') && isFiniteNumber(issuedBeforeMs)) {
    return { kind: 'agent', agentId: key.slice('agent.'.length), issuedBeforeMs };
  }
  return undefined;
}

/** The KV value to store for `revocation`. */
export function revocationValue(revocation: Revocation): RevocationValue {
  return revocation.kind === 'jti'
    ? { revoked_at_ms: revocation.revokedAtMs }
    : { issued_before_ms: revocation.issuedBeforeMs };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * What a replica knows of the revocations: an in-memory view, fed by a KV watch, read on every
 * intent (a map lookup, no round trip). Entries only ever tighten (a jti once revoked stays so; an
 * agent's cut-off only moves later), so applying them in any order, twice, or from a snapshot and
 * a watch at once gives the same view. Entries are forgotten once they can no longer matter:
 * the KV bucket's max age, and {@link prune} here, outlive every token an entry can concern.
 */
export class RevocationList {
  private readonly jtis = new Map<string, number>();
  private readonly agents = new Map<string, number>();

  /** Takes an entry in. */
  apply(revocation: Revocation): void {
    if (revocation.kind === 'jti') {
      if (!this.jtis.has(revocation.jti)) this.jtis.set(revocation.jti, revocation.revokedAtMs);
      return;
    }
    const known = this.agents.get(revocation.agentId) ?? Number.NEGATIVE_INFINITY;
    if (revocation.issuedBeforeMs > known) {
      this.agents.set(revocation.agentId, revocation.issuedBeforeMs);
    }
  }

  /**
   * Drops entries older than `retentionMs` at `nowMs`: every token they could concern expired
   * (the retention is the longest token life plus the clock leeway), as the bucket drops them.
   */
  prune(nowMs: number, retentionMs: number): void {
    for (const entries of [this.jtis, this.agents]) {
      for (const [key, atMs] of entries) if (atMs + retentionMs < nowMs) entries.delete(key);
    }
  }

  /** Whether token `jti` was revoked. */
  isRevoked(jti: string): boolean {
    return this.jtis.has(jti);
  }

  /** Epoch ms before which `agentId`'s tokens are refused, if any. */
  revokedBefore(agentId: string): number | undefined {
    return this.agents.get(agentId);
  }

  /**
   * Whether a token issued at `iatSeconds` (a JWT NumericDate: whole seconds, rounded down) falls
   * under an agent-wide revocation. The token was issued somewhere in `[iat, iat + 1)`: one whose
   * second overlaps the cut-off is refused, since it may predate it (the issuer avoids minting
   * such tokens, see `issuedAtAfter`).
   */
  isRevokedForAgent(agentId: string, iatSeconds: number): boolean {
    const before = this.agents.get(agentId);
    return before !== undefined && iatSeconds * 1000 < before;
  }

  get size(): number {
    return this.jtis.size + this.agents.size;
  }
}

/**
 * The `iat` (whole seconds) to give a token issued at `nowMs` to an agent with a cut-off at
 * `revokedBeforeMs`: normally `floor(now)`, but never a second that overlaps the cut-off, or a
 * token issued just after an all-tokens revocation would be refused until the next second.
 */
export function issuedAtAfter(nowMs: number, revokedBeforeMs: number | undefined): number {
  const iat = Math.floor(nowMs / 1000);
  // Only a token minted after the cut-off moves up; one minted before it (this replica's clock
  // behind the revoker's) keeps its iat and is refused, as it should be.
  if (revokedBeforeMs === undefined || iat * 1000 >= revokedBeforeMs || nowMs < revokedBeforeMs) {
    return iat;
  }
  return Math.ceil(revokedBeforeMs / 1000);
}
