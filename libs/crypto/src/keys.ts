import { KeySpec } from '../../domain/src';
import { subtle } from './x509';

export type KeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };

/** WebCrypto parameters for generating, importing and signing with a key of this spec. */
export function keyAlgorithm(spec: KeySpec): RsaHashedKeyGenParams | EcKeyGenParams {
  return spec.algorithm === 'RSA'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.size, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: spec.curve };
}

export function signingAlgorithm(spec: KeySpec): Algorithm | EcdsaParams {
  return spec.algorithm === 'RSA'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm
    : { name: 'ECDSA', hash: spec.curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
}

/** Generates a key pair on the libuv thread pool (WebCrypto is asynchronous in Node). */
export async function generateKeyPair(spec: KeySpec): Promise<KeyPair> {
  return (await subtle.generateKey(keyAlgorithm(spec), true, ['sign', 'verify'])) as KeyPair;
}

export async function exportPkcs8(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('pkcs8', key));
}

/** Re-creates the key pair from a stored PKCS#8 private key. */
export async function importKeyPair(pkcs8: Buffer, spec: KeySpec): Promise<KeyPair> {
  const alg = keyAlgorithm(spec);
  const privateKey = await subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', privateKey);
  const publicJwk: JsonWebKey = spec.algorithm === 'RSA'
    ? { kty: jwk.kty, n: jwk.n, e: jwk.e, alg: jwk.alg, ext: true }
    : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true };
  const publicKey = await subtle.importKey('jwk', publicJwk, alg, true, ['verify']);
  return { publicKey, privateKey };
}

/** A stable label for the vault row, e.g. `RSA-2048`, `ECDSA-P-256`. */
export const keyLabel = (spec: KeySpec): string =>
  spec.algorithm === 'RSA' ? `RSA-${spec.size}` : `ECDSA-${spec.curve}`;

export function parseKeyLabel(label: string): KeySpec {
  const [algorithm, ...rest] = label.split('-');
  if (algorithm === 'RSA') return { algorithm: 'RSA', size: Number(rest[0]) as 2048 };
  if (algorithm === 'ECDSA') return { algorithm: 'ECDSA', curve: rest.join('-') as 'P-256' };
  throw new Error(`unknown key label ${label}`);
}
