import type { KeyPair } from '@nats-io/nkeys';
import { TokenReply, TokenResult, type SealedTokenResult } from '@warden/contracts';
import { WardenConnectionError, type WardenConnectionErrorCode } from './errors.js';

/** Broker refusals that get their own {@link WardenConnectionErrorCode}; others are `credential_refused`. */
const REFUSAL_CODES: Partial<Record<string, WardenConnectionErrorCode>> = {
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_client',
  agent_suspended: 'agent_suspended',
  agent_retired: 'agent_retired',
  nats_credentials_unavailable: 'nats_credentials_unavailable',
};

/** What {@link readTokenReply} needs to know about the request it answers. */
export interface TokenReplyContext {
  readonly env: string;
  readonly agentId: string;
  /**
   * The one-time curve key the request sent as `reply_xkey`, when it went over the shared
   * bootstrap inbox: the reply must then be sealed to it.
   */
  readonly replyKey?: KeyPair;
  /** The request asked for a NATS user JWT (`nats_public_key`): the reply must carry one. */
  readonly wantsNatsJwt: boolean;
}

/**
 * The token in the identity broker's reply, opened when sealed. Throws a
 * {@link WardenConnectionError} for a refusal (with the broker's reason, never the request), a
 * reply this SDK does not understand, a sealed reply it cannot open or did not ask for, a reply
 * in clear where it asked for a sealed one, and a missing NATS JWT it asked for.
 */
export function readTokenReply(body: unknown, context: TokenReplyContext): TokenResult {
  const { env, agentId } = context;
  const reply = TokenReply.safeParse(body);
  if (!reply.success) {
    throw new WardenConnectionError(
      'credential_refused',
      `the identity broker of env "${env}" sent a token reply this SDK does not understand`,
    );
  }
  if (!reply.data.ok) {
    throw new WardenConnectionError(
      REFUSAL_CODES[reply.data.error.code] ?? 'credential_refused',
      `the identity broker of env "${env}" refused a token for agent ${agentId}: ${reply.data.error.message} (${reply.data.error.code})`,
    );
  }
  const { result } = reply.data;
  let token: TokenResult;
  if ('sealed' in result) {
    if (context.replyKey === undefined) {
      throw new WardenConnectionError(
        'credential_refused',
        `the identity broker of env "${env}" sealed a token reply nobody asked to be sealed`,
      );
    }
    token = openSealed(result, context.replyKey, env);
  } else {
    // Over the bootstrap user's inbox, shared by every agent host, a reply in clear is a token
    // anyone holding the bootstrap credential may have read: not one to use.
    if (context.replyKey !== undefined) {
      throw new WardenConnectionError(
        'credential_refused',
        `the identity broker of env "${env}" answered in clear over the shared bootstrap inbox; it must seal the reply to reply_xkey (is it older than this SDK?)`,
      );
    }
    token = result;
  }
  if (context.wantsNatsJwt && token.nats_jwt === undefined) {
    throw new WardenConnectionError(
      'credential_refused',
      `the identity broker of env "${env}" issued no NATS credential for agent ${agentId}: it needs IDENTITY_NATS_ACCOUNT_SIGNING_SEED and IDENTITY_NATS_ACCOUNT (deploy/nats/README.md)`,
    );
  }
  return token;
}

function openSealed(sealed: SealedTokenResult, key: KeyPair, env: string): TokenResult {
  const refuse = (why: string, cause?: unknown): WardenConnectionError =>
    new WardenConnectionError(
      'credential_refused',
      `the identity broker of env "${env}" sent a sealed token reply that ${why}`,
      { cause },
    );
  let opened: Uint8Array | null;
  try {
    opened = key.open(Buffer.from(sealed.sealed, 'base64'), sealed.sender_xkey);
  } catch (error) {
    throw refuse('cannot be opened', error);
  }
  if (opened === null) throw refuse('cannot be opened with this request’s key');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(opened));
  } catch (error) {
    throw refuse('is not JSON once opened', error);
  }
  const token = TokenResult.safeParse(parsed);
  if (!token.success) throw refuse('holds no token this SDK understands');
  return token.data;
}
