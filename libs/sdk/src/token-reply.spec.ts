import { createCurve } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { readTokenReply } from './token-reply.js';

const result = {
  token: 't-1',
  jti: 'j-1',
  expires_at: '2999-01-01T00:00:00.000000Z',
  nats_jwt: 'eyJ.nats.jwt',
};
const context = { env: 'dev', agentId: 'bot', wantsNatsJwt: true };

/** What the broker answers to a request that sent `reply_xkey`. */
function sealedReply(recipient: string, body: unknown = result) {
  const broker = createCurve();
  const sealed = broker.seal(new TextEncoder().encode(JSON.stringify(body)), recipient);
  return {
    ok: true,
    result: { sealed: Buffer.from(sealed).toString('base64'), sender_xkey: broker.getPublicKey() },
  };
}

describe('readTokenReply', () => {
  it('opens a reply sealed to the request’s one-time key', () => {
    const replyKey = createCurve();
    expect(readTokenReply(sealedReply(replyKey.getPublicKey()), { ...context, replyKey })).toEqual(
      result,
    );
  });

  it('refuses a sealed reply another key opens, or sealed around something else', () => {
    const replyKey = createCurve();
    expect(() =>
      readTokenReply(sealedReply(createCurve().getPublicKey()), { ...context, replyKey }),
    ).toThrow(/cannot be opened/);
    expect(() =>
      readTokenReply(sealedReply(replyKey.getPublicKey(), { token: 't' }), {
        ...context,
        replyKey,
      }),
    ).toThrow(/no token this SDK understands/);
  });

  it('refuses a reply in clear where it asked for a sealed one, and the other way round', () => {
    const replyKey = createCurve();
    expect(() => readTokenReply({ ok: true, result }, { ...context, replyKey })).toThrow(
      expect.objectContaining({
        code: 'credential_refused',
        message: expect.stringMatching(/seal/) as unknown,
      }),
    );
    expect(() => readTokenReply(sealedReply(replyKey.getPublicKey()), context)).toThrow(
      /nobody asked/,
    );
  });

  it('requires the NATS JWT it asked for, and only then', () => {
    const { nats_jwt: _, ...plain } = result;
    expect(() => readTokenReply({ ok: true, result: plain }, context)).toThrow(
      /IDENTITY_NATS_ACCOUNT_SIGNING_SEED/,
    );
    expect(
      readTokenReply({ ok: true, result: plain }, { ...context, wantsNatsJwt: false }),
    ).toEqual(plain);
  });

  it('maps the broker’s refusals to their codes', () => {
    expect(() =>
      readTokenReply({ ok: false, error: { code: 'agent_suspended', message: 'no' } }, context),
    ).toThrow(expect.objectContaining({ code: 'agent_suspended' }));
    expect(() => readTokenReply({ nonsense: true }, context)).toThrow(/does not understand/);
  });
});
