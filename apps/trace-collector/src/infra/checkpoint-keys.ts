import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KV } from '@nats-io/kv';
import { isWrongLastSequence } from '@warden/messaging';
import { z } from 'zod';
import { keyIdOf, type CheckpointSigner } from '../domain/checkpoint-chain.js';

/** The KV bucket (`warden_<env>_checkpoint_keys`) where the collector publishes its public keys. */
export const CHECKPOINT_KEYS_BUCKET = 'checkpoint_keys';

/** Where a generated key is kept, inside WARDEN_DATA_DIR. */
export const SIGNING_KEY_FILE = 'checkpoint-signing-key.pem';

// DER headers of Ed25519 keys (RFC 8410): PKCS#8 for a 32-byte seed, SPKI for a 32-byte public
// key. node:crypto takes keys as DER or PEM, not as raw bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** What a KV entry says about one key. */
const PublishedKey = z.strictObject({
  algorithm: z.literal('Ed25519'),
  /** The 32 raw bytes of the public key, base64. */
  public_key: z.string(),
  published_at: z.string(),
});

/**
 * The collector's checkpoint signing key: COLLECTOR_SIGNING_KEY (a 32-byte Ed25519 seed, base64)
 * when set, otherwise the PEM in `<dataDir>/checkpoint-signing-key.pem`, made on first start.
 */
export async function loadSigningKey(
  configured: string | undefined,
  dataDir: string,
): Promise<CheckpointSigner & { rawPublicKey: Buffer; generated: boolean }> {
  let privateKey: KeyObject;
  let generated = false;
  if (configured !== undefined) {
    privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(configured, 'base64')]),
      format: 'der',
      type: 'pkcs8',
    });
  } else {
    const file = join(dataDir, SIGNING_KEY_FILE);
    let pem: string | undefined;
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (pem === undefined) {
      pem = generateKeyPairSync('ed25519')
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();
      await mkdir(dataDir, { recursive: true });
      // `wx`: two collectors starting on one directory cannot both write a key (chDB would stop
      // the second one anyway); 0600 because whoever reads it can sign checkpoints.
      await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
      generated = true;
    }
    privateKey = createPrivateKey(pem);
  }
  const rawPublicKey = createPublicKey(privateKey)
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519_PREFIX.length);
  return { keyId: keyIdOf(rawPublicKey), privateKey, rawPublicKey, generated };
}

/**
 * The env's published checkpoint keys, in NATS KV: the verifier reads public keys from here, not
 * from ClickHouse, so someone who can edit the audit tables cannot swap the key and re-sign. An
 * entry is written once (`create`) and never replaced.
 */
export class CheckpointKeyRegistry {
  private readonly cache = new Map<string, KeyObject | undefined>();

  constructor(private readonly kv: KV) {}

  /**
   * Publishes the collector's public key under its id, or checks that the entry already there is
   * this key.
   *
   * @throws Error when the id is published with another key (the bucket was tampered with).
   */
  async publish(keyId: string, rawPublicKey: Buffer): Promise<void> {
    const entry = {
      algorithm: 'Ed25519',
      public_key: rawPublicKey.toString('base64'),
      published_at: new Date().toISOString(),
    } satisfies z.infer<typeof PublishedKey>;
    try {
      await this.kv.create(keyId, JSON.stringify(entry));
      return;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
    const published = await this.read(keyId);
    if (published === undefined || published.public_key !== entry.public_key) {
      throw new Error(
        `NATS KV ${CHECKPOINT_KEYS_BUCKET} holds another public key under this collector's key id ${keyId}: ` +
          'the bucket was changed by someone else; investigate before starting the collector',
      );
    }
  }

  /** The public key published under `keyId`, or undefined when there is none (or it is garbled). */
  async publicKey(keyId: string): Promise<KeyObject | undefined> {
    if (this.cache.has(keyId)) return this.cache.get(keyId);
    const published = await this.read(keyId);
    let key: KeyObject | undefined;
    if (published !== undefined) {
      const raw = Buffer.from(published.public_key, 'base64');
      // The id is derived from the key: an entry whose key does not hash to its id is not trusted.
      if (raw.length === 32 && keyIdOf(raw) === keyId) {
        key = createPublicKey({
          key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
          format: 'der',
          type: 'spki',
        });
      }
    }
    this.cache.set(keyId, key);
    return key;
  }

  private async read(keyId: string): Promise<z.infer<typeof PublishedKey> | undefined> {
    if (!/^[0-9a-f]{16}$/.test(keyId)) return undefined;
    const entry = await this.kv.get(keyId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(entry.string());
    } catch {
      return undefined;
    }
    const parsed = PublishedKey.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  }
}
