import { createCurve, type KeyPair } from '@nats-io/nkeys';
import type { SealedTokenResult, TokenResult } from '@warden/contracts';

/**
 * Seals token replies to the requester's one-time curve key (`reply_xkey`). Agents ask for their
 * first token over the bootstrap credential, whose inbox every agent host shares
 * (`_INBOX_bootstrap.>`): a plain reply would hand the token and its NATS JWT to every other
 * holder (IssueToken refuses a request answered there without `reply_xkey`). The broker's curve key pair is made at start and never stored: a reply is opened once,
 * right away, so nothing needs it after a restart.
 */
export class ReplySealer {
  private readonly curve: KeyPair = createCurve();
  private readonly encoder = new TextEncoder();

  /** The broker's curve public key (`X…`), sent as `sender_xkey`. */
  get publicKey(): string {
    return this.curve.getPublicKey();
  }

  /** `result` as JSON, sealed (XSalsa20-Poly1305) so that only the holder of `replyXkey` opens it. */
  seal(result: TokenResult, replyXkey: string): SealedTokenResult {
    const sealed = this.curve.seal(this.encoder.encode(JSON.stringify(result)), replyXkey);
    return { sealed: Buffer.from(sealed).toString('base64'), sender_xkey: this.publicKey };
  }
}
