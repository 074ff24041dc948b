import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import { DomainError } from '../../domain/src';
import { parseCertificates, parsePrivateKey } from './formats';
import { PkiFixture, createPki, pemToDer } from './openssl-fixtures.spec';
import { createPkcs12, parsePkcs12 } from './pkcs12';

/*
 * Property: whatever bytes arrive, the parsers either return a usable result or throw a
 * DomainError with one of their documented codes, promptly. Inputs are real files made by
 * openssl, mutated deterministically (seeded), ~3000 cases in all.
 */

const CASES = { certificates: 1200, privateKeys: 900, pkcs12: 900 };
const SLOW_CALL_MS = 3000;
const PASSWORD = 'fuzz-Pa55';

/** mulberry32: small, seeded, good enough to pick mutations reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, bytes, pick };
}
type Rng = ReturnType<typeof prng>;

const LABELS = ['CERTIFICATE', 'PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'PKCS7', 'CMS', 'CERTIFICATE REQUEST', 'PUBLIC KEY', 'X509 CRL', 'TRUSTED CERTIFICATE', 'FOO'];

/** Byte-level mutations of DER. */
const byteMutations: [string, (b: Buffer, r: Rng) => Buffer][] = [
  ['bit flips', (b, r) => {
    const c = Buffer.from(b);
    for (let k = 1 + r.int(8); k > 0; k--) c[r.int(c.length)] ^= 1 << r.int(8);
    return c;
  }],
  ['one bit flip in the first 64 bytes (headers, lengths, OIDs)', (b, r) => {
    const c = Buffer.from(b);
    c[r.int(Math.min(64, c.length))] ^= 1 << r.int(8);
    return c;
  }],
  ['truncation', (b, r) => b.subarray(0, r.int(b.length))],
  ['insertion of random bytes', (b, r) => {
    const at = r.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]);
  }],
  ['deletion of a range', (b, r) => {
    const at = r.int(b.length);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(32))]);
  }],
  ['overwrite of a range with random bytes', (b, r) => {
    const c = Buffer.from(b);
    const at = r.int(c.length);
    r.bytes(1 + r.int(24)).copy(c, at);
    return c.subarray(0, b.length);
  }],
  ['a length byte set to an extreme', (b, r) => {
    const c = Buffer.from(b);
    c[r.int(Math.min(c.length, 200))] = r.pick([0x00, 0x7f, 0x80, 0x81, 0x84, 0x85, 0xff]);
    return c;
  }],
  ['random bytes of the same length', (b, r) => r.bytes(b.length)],
  ['random bytes starting with SEQUENCE', (b, r) => Buffer.concat([Buffer.from([0x30, 0x82]), r.bytes(1 + r.int(b.length))])],
  ['a duplicated chunk', (b, r) => {
    const at = r.int(b.length);
    return Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + r.int(64)), b.subarray(at)]);
  }],
  ['trailing garbage', (b, r) => Buffer.concat([b, r.bytes(1 + r.int(32))])],
];

const armour = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;

/** Text-level mutations of PEM. */
const textMutations: [string, (t: string, r: Rng) => string][] = [
  ['wrong armour', (t, r) => {
    const label = r.pick(LABELS);
    return t.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, `-----$1 ${label}-----`);
  }],
  ['a damaged DER inside intact armour', (t, r) => {
    const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(t);
    if (!m || /Proc-Type/.test(m[2])) return t.slice(0, r.int(t.length));
    const [, mutate] = r.pick(byteMutations);
    return t.replace(m[0], armour(m[1], mutate(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'), r)).trimEnd());
  }],
  ['a deleted line', (t, r) => {
    const lines = t.split('\n');
    lines.splice(r.int(lines.length), 1);
    return lines.join('\n');
  }],
  ['a duplicated line', (t, r) => {
    const lines = t.split('\n');
    const at = r.int(lines.length);
    lines.splice(at, 0, lines[at]);
    return lines.join('\n');
  }],
  ['a replaced character', (t, r) => {
    const at = r.int(t.length);
    return t.slice(0, at) + r.pick(['A', '/', '+', '=', '-', ' ', '\n', '!', '\u00e9', '\u0000']) + t.slice(at + 1);
  }],
  ['truncated text', (t, r) => t.slice(0, r.int(t.length))],
  ['no END line', (t) => t.replace(/-----END [A-Z0-9 ]+-----\s*$/, '')],
  ['text as UTF-16 with BOM, then bit flips', (t, r) => {
    const b = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]);
    b[2 + r.int(b.length - 2)] ^= 1 << r.int(8);
    return b.toString('latin1');
  }],
];

interface Outcome {
  accepted: number;
  refused: Map<string, number>;
  failures: string[];
  slowest: number;
}

async function fuzz(
  count: number,
  seed: number,
  seeds: { name: string; input: Buffer | string; password?: string }[],
  call: (input: Buffer | string, password: string | undefined) => Promise<void>,
  codes: readonly string[],
): Promise<Outcome> {
  const r = prng(seed);
  const outcome: Outcome = { accepted: 0, refused: new Map(), failures: [], slowest: 0 };
  for (let k = 0; k < count; k++) {
    const source = seeds[k % seeds.length];
    let input: Buffer | string;
    let mutation: string;
    if (typeof source.input === 'string' && r.next() < 0.6) {
      const [name, mutate] = r.pick(textMutations);
      mutation = name;
      input = mutate(source.input, r);
    } else {
      const [name, mutate] = r.pick(byteMutations);
      mutation = name;
      input = mutate(Buffer.from(source.input), r);
    }
    const password = source.password !== undefined && r.next() < 0.15 ? 'wrong-password' : source.password;
    const started = performance.now();
    try {
      await call(input, password);
      outcome.accepted++;
    } catch (e) {
      const label = `#${k} ${source.name} / ${mutation}`;
      if (!(e instanceof DomainError)) outcome.failures.push(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      else if (!codes.includes(e.code)) outcome.failures.push(`${label}: undocumented code ${e.code}: ${e.message}`);
      else if (password && e.message.includes(password)) outcome.failures.push(`${label}: the message contains the password`);
      else if (e.kind !== 'invalid' && e.kind !== 'unprocessable') outcome.failures.push(`${label}: kind ${e.kind}`);
      else outcome.refused.set(e.code, (outcome.refused.get(e.code) ?? 0) + 1);
    }
    const elapsed = performance.now() - started;
    outcome.slowest = Math.max(outcome.slowest, elapsed);
    if (elapsed > SLOW_CALL_MS) outcome.failures.push(`#${k} ${source.name} / ${mutation}: took ${Math.round(elapsed)} ms`);
  }
  return outcome;
}

let pki: PkiFixture;
beforeAll(() => {
  pki = createPki();
}, 30_000);
afterAll(() => pki.openssl.cleanup());

describe('fuzzing the parsers with mutated real inputs', () => {
  it(`parseCertificates returns certificates or a documented DomainError for ${CASES.certificates} mutated inputs`, async () => {
    const o = pki.openssl;
    o.write('bundle.pem', pki.leafPem + pki.intermediatePem + pki.rootPem);
    o.run(['crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-out', 'bundle.p7b']);
    o.run(['crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-outform', 'DER', '-out', 'bundle.p7b.der']);
    const seeds = [
      { name: 'PEM certificate', input: pki.leafPem },
      { name: 'PEM bundle', input: o.text('bundle.pem') },
      { name: 'DER certificate', input: pemToDer(pki.leafPem) },
      { name: 'DER EC certificate', input: pemToDer(pki.ecLeafPem) },
      { name: 'PKCS#7 PEM', input: o.text('bundle.p7b') },
      { name: 'PKCS#7 DER', input: o.bytes('bundle.p7b.der') },
      { name: 'base64 certificate', input: pemToDer(pki.rootPem).toString('base64') },
    ];
    const outcome = await fuzz(CASES.certificates, 1, seeds, async (input) => {
      const result = parseCertificates(input);
      expect(result.certificates.length).toBeGreaterThan(0);
      for (const pem of result.certificates) new NodeX509(pem);
    }, ['NotACertificate', 'TruncatedCertificate', 'MalformedCertificate', 'EmptyBundle', 'InputTooLarge']);
    expect(outcome.failures).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(CASES.certificates * 0.05);
    expect(outcome.refused.size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it(`parsePrivateKey returns a usable key or a documented DomainError for ${CASES.privateKeys} mutated inputs`, async () => {
    const o = pki.openssl;
    const make = (file: string, args: string[]) => (o.run([...args, '-out', file]), o.text(file));
    const seeds = [
      { name: 'PKCS#8 RSA', input: pki.leafKeyPem },
      { name: 'PKCS#8 EC', input: pki.ecLeafKeyPem },
      { name: 'PKCS#1 RSA', input: make('rsa1.pem', ['rsa', '-in', 'leaf.key', '-traditional']) },
      { name: 'SEC1 EC', input: make('sec1.pem', ['ec', '-in', 'ecleaf.key']) },
      { name: 'encrypted PKCS#8 AES', input: make('enc-aes.pem', ['pkcs8', '-topk8', '-in', 'ecleaf.key', '-v2', 'aes-256-cbc', '-passout', `pass:${PASSWORD}`]), password: PASSWORD },
      { name: 'encrypted PKCS#8 3DES', input: make('enc-3des.pem', ['pkcs8', '-topk8', '-in', 'leaf.key', '-v1', 'PBE-SHA1-3DES', '-passout', `pass:${PASSWORD}`]), password: PASSWORD },
      { name: 'legacy encrypted PEM', input: make('enc-legacy.pem', ['ec', '-in', 'ecleaf.key', '-aes128', '-passout', `pass:${PASSWORD}`]), password: PASSWORD },
      { name: 'DER PKCS#8 given as bytes', input: pemToDer(pki.ecLeafKeyPem) },
    ];
    const outcome = await fuzz(CASES.privateKeys, 2, seeds, async (input, password) => {
      const result = await parsePrivateKey(input as string, password);
      expect(createPrivateKey({ key: result.pkcs8, format: 'der', type: 'pkcs8' }).type).toBe('private');
    }, ['InvalidPrivateKey', 'PasswordRequired', 'WrongPassword', 'UnsupportedKey', 'InputTooLarge']);
    expect(outcome.failures).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(CASES.privateKeys * 0.02);
    expect(outcome.refused.size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it(`parsePkcs12 returns contents or a documented DomainError for ${CASES.pkcs12} mutated inputs`, async () => {
    const o = pki.openssl;
    const { pkcs8, spec } = await parsePrivateKey(pki.ecLeafKeyPem);
    const exportPfx = (file: string, args: string[]) => (o.run(['pkcs12', '-export', '-out', file, '-passout', `pass:${PASSWORD}`, ...args]), o.bytes(file));
    const withChain = ['-in', 'leaf.pem', '-inkey', 'leaf.key', '-certfile', 'inter.pem'];
    const seeds = [
      { name: 'createPkcs12 AES', input: await createPkcs12({ certificatePem: pki.ecLeafPem, chainPem: [pki.intermediatePem], pkcs8, spec, password: PASSWORD, friendlyName: 'fuzz', iterations: 2048 }), password: PASSWORD },
      { name: 'createPkcs12 legacy', input: await createPkcs12({ certificatePem: pki.ecLeafPem, chainPem: [], pkcs8, spec, password: PASSWORD, legacy: true, iterations: 2048 }), password: PASSWORD },
      { name: 'openssl default', input: exportPfx('d.pfx', withChain), password: PASSWORD },
      { name: 'openssl 3DES', input: exportPfx('3.pfx', [...withChain, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']), password: PASSWORD },
      // without a MAC the mutations reach the decryption and the bags
      { name: 'openssl -nomac', input: exportPfx('n.pfx', [...withChain, '-nomac']), password: PASSWORD },
      { name: 'openssl -nomac 3DES', input: exportPfx('n3.pfx', ['-in', 'ecleaf.pem', '-inkey', 'ecleaf.key', '-nomac', '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES']), password: PASSWORD },
      { name: 'openssl -nomac unencrypted', input: exportPfx('nn.pfx', [...withChain, '-nomac', '-keypbe', 'NONE', '-certpbe', 'NONE']), password: PASSWORD },
    ];
    const outcome = await fuzz(CASES.pkcs12, 3, seeds, async (input, password) => {
      const result = await parsePkcs12(Buffer.from(input as Buffer), password ?? '');
      for (const pem of result.certificates) new NodeX509(pem);
      if (result.privateKey) createPrivateKey({ key: result.privateKey.pkcs8, format: 'der', type: 'pkcs8' });
    }, [
      'InvalidPkcs12', 'WrongPassword', 'UnsupportedPkcs12', 'EmptyBundle', 'PasswordRequired', 'InputTooLarge',
      'NotACertificate', 'TruncatedCertificate', 'MalformedCertificate', 'InvalidPrivateKey', 'UnsupportedKey',
    ]);
    expect(outcome.failures).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(CASES.pkcs12 * 0.02);
    expect(outcome.refused.size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('refuses arguments of the wrong type with a DomainError', async () => {
    for (const bad of [undefined, null, 42, {}, [], true]) {
      expect(() => parseCertificates(bad as unknown as string)).toThrow(DomainError);
      await expect(parsePrivateKey(bad as unknown as string)).rejects.toBeInstanceOf(DomainError);
      await expect(parsePkcs12(bad as unknown as Buffer, 'x')).rejects.toBeInstanceOf(DomainError);
    }
  });
});
