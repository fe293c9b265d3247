import { createPublicKey, verify } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * The two Ed25519 verifiers `SignatureVerifier` can use, over the same raw 32-byte public key.
 *
 * - `libsodium`: `crypto_sign_verify_detached` through the `sodium-native` addon
 *   (https://github.com/holepunchto/sodium-native, libsodium's
 *   https://doc.libsodium.org/public-key_cryptography/public-key_signatures). Its prebuilt binaries
 *   ship inside the npm package (no install script, no compiler), for glibc Linux x64/arm64 among
 *   others. About half the CPU of node:crypto per verify, which is the largest single cost of a
 *   signed callback (bench/RESULTS.md).
 * - `node:crypto`: OpenSSL through a KeyObject parsed once; the fallback wherever the addon does
 *   not load (another libc or platform, a broken install).
 *
 * test/telnyx/signature.test.ts runs both over the same accepted and refused requests.
 */
export type Ed25519Backend = 'libsodium' | 'node:crypto';

/** Verifies a detached 64-byte signature over `message`; the key is bound at creation. */
export type Ed25519Verify = (message: Buffer, signature: Buffer) => boolean;

interface Sodium {
  crypto_sign_verify_detached(signature: Buffer, message: Buffer, publicKey: Buffer): boolean;
  crypto_sign_BYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
}

let sodium: Sodium | null | undefined;
let sodiumError: unknown;

/** The addon, loaded once per process; null (and `sodiumLoadError()` says why) when it cannot load. */
export function loadSodium(): Sodium | null {
  if (sodium === undefined) {
    try {
      // sodium-native is CommonJS (require-addon picks the prebuild for this platform).
      const mod = createRequire(import.meta.url)('sodium-native') as Sodium;
      if (typeof mod.crypto_sign_verify_detached !== 'function')
        throw new Error('no crypto_sign_verify_detached');
      sodium = mod;
    } catch (err) {
      sodium = null;
      sodiumError = err;
    }
  }
  return sodium;
}

export function sodiumLoadError(): unknown {
  return sodiumError;
}

/** `raw` is the 32-byte public key. Throws when libsodium cannot load. */
export function libsodiumVerify(raw: Buffer): Ed25519Verify {
  const lib = loadSodium();
  if (!lib) throw new Error('sodium-native is not available', { cause: sodiumError });
  // A copy: the key must not change under us if the caller reuses its buffer.
  const key = Buffer.from(raw);
  return (message, signature) =>
    // The addon asserts buffer lengths (it throws rather than answering false).
    signature.length === lib.crypto_sign_BYTES && lib.crypto_sign_verify_detached(signature, message, key);
}

/** `raw` is the 32-byte public key. */
export function nodeCryptoVerify(raw: Buffer): Ed25519Verify {
  // A raw Ed25519 key becomes SPKI DER by prefixing the fixed 12-byte algorithm header (RFC 8410).
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  return (message, signature) => verify(null, message, key, signature);
}
