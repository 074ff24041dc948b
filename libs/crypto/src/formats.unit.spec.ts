import * as asn1js from 'asn1js';
import { X509Certificate as NodeX509, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { DomainError } from '../../domain/src';
import { keyMatchesCertificate, orderChain, parseCertificates, parsePrivateKey, publicKeyMatches } from './formats';
import { PkiFixture, createPki, pemToDer, sameDer } from './openssl-fixtures.spec';

let pki: PkiFixture;
beforeAll(() => {
  pki = createPki();
  const o = pki.openssl;
  o.write('bundle.pem', pki.leafPem + pki.intermediatePem + pki.rootPem);
  o.run(['crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-out', 'bundle.p7b']);
  o.run(['crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-outform', 'DER', '-out', 'bundle.p7b.der']);
  o.run(['crl2pkcs7', '-nocrl', '-out', 'empty.p7b']);
  o.run(['crl2pkcs7', '-nocrl', '-outform', 'DER', '-out', 'empty.p7b.der']);
  o.run(['x509', '-in', 'leaf.pem', '-outform', 'DER', '-out', 'leaf.der']);
  o.run(['x509', '-in', 'leaf.pem', '-addtrust', 'serverAuth', '-out', 'leaf.trusted.pem']);
  o.run(['pkcs12', '-export', '-in', 'leaf.pem', '-inkey', 'leaf.key', '-passout', 'pass:pw', '-out', 'leaf.pfx']);
});
afterAll(() => pki.openssl.cleanup());

function domainError(f: () => unknown): DomainError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('no error was thrown');
}

async function domainErrorAsync(f: () => Promise<unknown>): Promise<DomainError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('no error was thrown');
}

describe('parseCertificates', () => {
  type Case = [string, () => Buffer | string, string, () => string[]];
  const accepted: Case[] = [
    ['a single PEM certificate', () => pki.leafPem, 'pem', () => [pki.leafPem]],
    ['a PEM bundle, keeping its order', () => pki.leafPem + pki.intermediatePem + pki.rootPem, 'pem', () => [pki.leafPem, pki.intermediatePem, pki.rootPem]],
    ['a PEM bundle with text between blocks, as openssl prints it', () => pki.openssl.run(['x509', '-in', 'leaf.pem', '-subject', '-issuer']) + pki.openssl.run(['x509', '-in', 'inter.pem', '-subject']), 'pem',
      () => [pki.leafPem, pki.intermediatePem]],
    ['a PEM bundle as bytes with CRLF line ends', () => Buffer.from((pki.leafPem + pki.rootPem).replace(/\n/g, '\r\n')), 'pem', () => [pki.leafPem, pki.rootPem]],
    ['PEM text saved as UTF-16 with a BOM (PowerShell Out-File)', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pki.leafPem, 'utf16le')]), 'pem', () => [pki.leafPem]],
    ['PEM text with a UTF-8 BOM', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(pki.leafPem)]), 'pem', () => [pki.leafPem]],
    ['the X509 CERTIFICATE armour', () => pki.leafPem.replace(/CERTIFICATE/g, 'X509 CERTIFICATE'), 'pem', () => [pki.leafPem]],
    ['an OpenSSL TRUSTED CERTIFICATE (trust settings dropped)', () => pki.openssl.text('leaf.trusted.pem'), 'pem', () => [pki.leafPem]],
    ['a certificate and its private key in one file (the key is ignored)', () => pki.leafKeyPem + pki.leafPem, 'pem', () => [pki.leafPem]],
    ['DER', () => pki.openssl.bytes('leaf.der'), 'der', () => [pki.leafPem]],
    ['base64 without armour, one line', () => pki.openssl.bytes('leaf.der').toString('base64'), 'base64', () => [pki.leafPem]],
    ['base64 without armour, with line breaks', () => pki.openssl.bytes('leaf.der').toString('base64').replace(/(.{76})/g, '$1\r\n'), 'base64', () => [pki.leafPem]],
    ['a PKCS#7 bundle in PEM (openssl crl2pkcs7)', () => pki.openssl.text('bundle.p7b'), 'pkcs7-pem', () => [pki.leafPem, pki.intermediatePem, pki.rootPem]],
    ['a PKCS#7 bundle with CMS armour', () => pki.openssl.text('bundle.p7b').replace(/PKCS7/g, 'CMS'), 'pkcs7-pem', () => [pki.leafPem, pki.intermediatePem, pki.rootPem]],
    ['a PKCS#7 bundle in DER (.p7b)', () => pki.openssl.bytes('bundle.p7b.der'), 'pkcs7-der', () => [pki.leafPem, pki.intermediatePem, pki.rootPem]],
  ];

  it.each(accepted)('reads %s', (_sentence, input, format, expected) => {
    const result = parseCertificates(input());
    expect(result.format).toBe(format);
    expect(result.certificates).toHaveLength(expected().length);
    result.certificates.forEach((pem, k) => {
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      expect(sameDer(pem, expected()[k])).toBe(true);
    });
  });

  it('returns PEM that openssl reads as the same certificate', () => {
    const [pem] = parseCertificates(pki.openssl.bytes('leaf.der')).certificates;
    const fingerprint = (text: string) => pki.openssl.run(['x509', '-noout', '-fingerprint', '-sha256'], text);
    expect(fingerprint(pem)).toBe(fingerprint(pki.leafPem));
  });

  const refused: [string, () => Buffer | string, string, RegExp][] = [
    ['random bytes', () => Buffer.from(Array.from({ length: 700 }, (_, k) => (k * 151 + 7) % 256)), 'NotACertificate', /binary data that is not DER/],
    ['text that is neither PEM nor base64', () => 'hello, this is not a certificate', 'NotACertificate', /neither PEM .* nor base64/],
    ['an empty input', () => '', 'NotACertificate', /empty/],
    ['white space only', () => '  \n ', 'NotACertificate', /empty/],
    ['a private key given as a certificate', () => pki.leafKeyPem, 'NotACertificate', new RegExp(`holds a private key \\(PKCS#8\\) \\(-----BEGIN ${'PRIVATE'} KEY-----\\)`)],
    ['a certificate request in PEM', () => pki.openssl.text('leaf.csr'), 'NotACertificate', /certificate signing request/],
    ['a certificate request in DER', () => pemToDer(pki.openssl.text('leaf.csr')), 'NotACertificate', /is a certificate signing request \(CSR\), not a certificate/],
    ['a PKCS#12 file', () => pki.openssl.bytes('leaf.pfx'), 'NotACertificate', /PKCS#12/],
    ['DER cut in half', () => pki.openssl.bytes('leaf.der').subarray(0, 400), 'TruncatedCertificate', /truncated: it declares \d+ bytes but only 400 are present/],
    ['PEM without its END line', () => pki.leafPem.slice(0, 900), 'TruncatedCertificate', /has no "-----END CERTIFICATE-----" line/],
    ['a PEM bundle whose second block lost its END line', () => pki.leafPem + pki.rootPem.slice(0, 300), 'TruncatedCertificate', /line \d+ has no "-----END CERTIFICATE-----"/],
    ['DER with bytes after the certificate', () => Buffer.concat([pki.openssl.bytes('leaf.der'), Buffer.from('trailing')]), 'MalformedCertificate', /8 unexpected bytes after the certificate/],
    ['PEM whose base64 is damaged', () => pki.leafPem.replace(/^(-----BEGIN CERTIFICATE-----\n.{10})./m, '$1!'), 'MalformedCertificate', /base64 text of CERTIFICATE block 1 \(line 1\) is damaged/],
    ['a certificate whose signature algorithm was damaged', () => damage(pki.openssl.bytes('leaf.der')), 'MalformedCertificate', /not a valid X.509 certificate/],
    ['a PKCS#7 bundle without certificates (PEM)', () => pki.openssl.text('empty.p7b'), 'EmptyBundle', /holds no certificates/],
    ['a PKCS#7 bundle without certificates (DER)', () => pki.openssl.bytes('empty.p7b.der'), 'EmptyBundle', /holds no certificates/],
    ['a truncated PKCS#7 bundle', () => pki.openssl.bytes('bundle.p7b.der').subarray(0, 1000), 'TruncatedCertificate', /truncated/],
    ['more than 5 MB', () => Buffer.alloc(5 * 1024 * 1024 + 1, 0x41), 'InputTooLarge', /limit is 5242880 bytes/],
  ];

  it.each(refused)('refuses %s', (_sentence, input, code, message) => {
    const error = domainError(() => parseCertificates(input()));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('never puts key material into the message', () => {
    const error = domainError(() => parseCertificates(pki.leafKeyPem));
    const keyBody = pki.leafKeyPem.split('\n')[1];
    expect(error.message).not.toContain(keyBody.slice(0, 20));
  });

  it('refuses something that is not a Buffer or a string with a DomainError', () => {
    expect(domainError(() => parseCertificates(42 as unknown as string)).code).toBe('NotACertificate');
    expect(domainError(() => parseCertificates(null as unknown as string)).code).toBe('NotACertificate');
  });
});

/** Replaces the OID of the outer signature algorithm with junk of the same length. */
function damage(der: Buffer): Buffer {
  const copy = Buffer.from(der);
  const oid = Buffer.from('06092a864886f70d01010b', 'hex'); // sha256WithRSAEncryption
  const at = copy.lastIndexOf(oid);
  copy[at + 1] = 0x0a; // the OID's length now overruns its SEQUENCE
  return copy;
}

describe('orderChain', () => {
  it('orders a shuffled bundle leaf → intermediate → root', () => {
    const { leaf, chain } = orderChain([pki.rootPem, pki.leafPem, pki.intermediatePem]);
    expect(sameDer(leaf, pki.leafPem)).toBe(true);
    expect(chain.map((c) => [sameDer(c, pki.intermediatePem), sameDer(c, pki.rootPem)])).toEqual([[true, false], [false, true]]);
  });

  it('orders a chain without its root', () => {
    const { leaf, chain } = orderChain([pki.intermediatePem, pki.ecLeafPem]);
    expect(sameDer(leaf, pki.ecLeafPem)).toBe(true);
    expect(chain).toHaveLength(1);
    expect(sameDer(chain[0], pki.intermediatePem)).toBe(true);
  });

  it('accepts a bundle given as one PEM string and drops duplicates', () => {
    const { leaf, chain } = orderChain([pki.intermediatePem + pki.leafPem, pki.intermediatePem]);
    expect(sameDer(leaf, pki.leafPem)).toBe(true);
    expect(chain).toHaveLength(1);
  });

  it('makes a lone self-signed certificate the leaf with an empty chain', () => {
    const { leaf, chain } = orderChain([pki.otherRootPem]);
    expect(sameDer(leaf, pki.otherRootPem)).toBe(true);
    expect(chain).toEqual([]);
  });

  it('refuses two leaves as an ambiguous chain', () => {
    const error = domainError(() => orderChain([pki.leafPem, pki.ecLeafPem, pki.intermediatePem]));
    expect(error.code).toBe('AmbiguousChain');
    expect(error.message).toMatch(/2 certificates .* leaf is ambiguous: ".*mail\.contoso\.com.*", ".*ec\.contoso\.com.*"/);
  });

  it('refuses a root that did not issue anything in the chain', () => {
    const error = domainError(() => orderChain([pki.leafPem, pki.intermediatePem, pki.otherRootPem]));
    expect(error.code).toBe('UnrelatedCertificate');
    expect(error.message).toMatch(/not part of the chain of ".*mail\.contoso\.com.*": ".*Fabrikam Root CA.*"/);
  });

  it('refuses an empty list', () => {
    expect(domainError(() => orderChain([])).code).toBe('EmptyBundle');
  });

  it('keeps the cross-signed copy of an intermediate out of the chain when the other copy leads to a root in the set', () => {
    const o = pki.openssl;
    o.run(['x509', '-req', '-in', 'inter.csr', '-CA', 'other.pem', '-CAkey', 'other.key', '-set_serial', '77', '-days', '365', '-extfile', 'ca.ext', '-out', 'inter-cross.pem']);
    const { chain } = orderChain([pki.leafPem, o.text('inter-cross.pem'), pki.intermediatePem, pki.rootPem]);
    expect(chain.map((c) => new NodeX509(c).serialNumber)).toEqual([new NodeX509(pki.intermediatePem).serialNumber, new NodeX509(pki.rootPem).serialNumber]);
  });

  it('uses the signature to choose between two issuers with the same name (leaf without key identifiers)', () => {
    const o = pki.openssl;
    o.write('noaki.ext', 'basicConstraints=CA:FALSE\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n');
    o.run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-set_serial', '300', '-days', '30', '-extfile', 'noaki.ext', '-out', 'leaf-noaki.pem']);
    o.write('ca-noski.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n');
    o.run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'twin.key', '-out', 'twin.csr', '-subj', '/C=US/O=Contoso Trust/CN=Contoso Issuing CA 1']);
    o.run(['x509', '-req', '-in', 'twin.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '3', '-days', '365', '-extfile', 'ca-noski.ext', '-out', 'twin.pem']);
    // the impostor comes first; the signature picks the real issuer, and the impostor is reported
    const error = domainError(() => orderChain([o.text('twin.pem'), o.text('leaf-noaki.pem'), pki.intermediatePem]));
    expect(error.code).toBe('UnrelatedCertificate');
    expect(error.details?.sha256Fingerprints).toEqual([new NodeX509(o.text('twin.pem')).fingerprint256.replace(/:/g, '')]);
  });
});

describe('parsePrivateKey', () => {
  const o = () => pki.openssl;
  const write = (file: string, args: string[]) => {
    o().run([...args, '-out', file]);
    return o().text(file);
  };

  const accepted: [string, () => string, string | undefined, object][] = [
    ['PKCS#8 RSA', () => pki.leafKeyPem, undefined, { algorithm: 'RSA', size: 2048 }],
    ['PKCS#1 RSA (RSA PRIVATE KEY)', () => write('leaf.rsa.pem', ['rsa', '-in', 'leaf.key', '-traditional']), undefined, { algorithm: 'RSA', size: 2048 }],
    ['SEC1 EC (EC PRIVATE KEY)', () => write('ec.sec1.pem', ['ec', '-in', 'ecleaf.key']), undefined, { algorithm: 'ECDSA', curve: 'P-256' }],
    ['PKCS#8 EC P-384', () => write('p384.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']), undefined, { algorithm: 'ECDSA', curve: 'P-384' }],
    ['encrypted PKCS#8 (AES-256-CBC, PBKDF2) with its password', () => write('leaf.enc.pem', ['pkcs8', '-topk8', '-in', 'leaf.key', '-v2', 'aes-256-cbc', '-passout', 'pass:s3cret!']), 's3cret!', { algorithm: 'RSA', size: 2048 }],
    ['encrypted PKCS#8 (PBE-SHA1-3DES) with its password', () => write('ec.enc3des.pem', ['pkcs8', '-topk8', '-in', 'ecleaf.key', '-v1', 'PBE-SHA1-3DES', '-passout', 'pass:s3cret!']), 's3cret!', { algorithm: 'ECDSA', curve: 'P-256' }],
    ['legacy OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED)', () => write('leaf.legacyenc.pem', ['rsa', '-in', 'leaf.key', '-traditional', '-aes256', '-passout', 'pass:s3cret!']), 's3cret!', { algorithm: 'RSA', size: 2048 }],
    ['a 1024-bit RSA key (allowed for imported keys)', () => write('rsa1024.pem', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']), undefined, { algorithm: 'RSA', size: 1024 }],
    ['a 3072-bit RSA key', () => generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, undefined, { algorithm: 'RSA', size: 3072 }],
    ['the key in a file that also holds the certificate', () => pki.leafPem + pki.leafKeyPem, undefined, { algorithm: 'RSA', size: 2048 }],
  ];

  it.each(accepted)('reads %s', async (_sentence, pem, password, spec) => {
    const result = await parsePrivateKey(pem(), password);
    expect(result.spec).toEqual(spec);
    const reloaded = createPrivateKey({ key: result.pkcs8, format: 'der', type: 'pkcs8' });
    expect(reloaded.type).toBe('private');
  });

  it('returns the same PKCS#8 bytes as openssl for every RSA encoding of one key', async () => {
    o().run(['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-outform', 'DER', '-out', 'leaf.key.der']);
    const opensslDer = o().bytes('leaf.key.der');
    for (const pem of [pki.leafKeyPem, write('leaf.rsa2.pem', ['rsa', '-in', 'leaf.key', '-traditional'])]) {
      expect((await parsePrivateKey(pem)).pkcs8.equals(opensslDer)).toBe(true);
    }
  });

  const refused: [string, () => string, string | undefined, string, RegExp][] = [
    ['an encrypted key without a password', () => o().text('leaf.enc.pem'), undefined, 'PasswordRequired', /encrypted; supply its password/],
    ['an encrypted key with the wrong password', () => o().text('leaf.enc.pem'), 'wrong-guess', 'WrongPassword', /password is wrong/],
    ['a 3DES-encrypted key with the wrong password', () => o().text('ec.enc3des.pem'), 'wrong-guess', 'WrongPassword', /password is wrong/],
    ['a legacy-encrypted key with the wrong password', () => o().text('leaf.legacyenc.pem'), 'wrong-guess', 'WrongPassword', /password is wrong/],
    ['a certificate given as a key', () => pki.leafPem, undefined, 'InvalidPrivateKey', /holds a certificate \(-----BEGIN CERTIFICATE-----\)/],
    ['text without PEM armour', () => 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ', undefined, 'InvalidPrivateKey', /not a PEM private key/],
    ['two keys in one file', () => pki.leafKeyPem + pki.ecLeafKeyPem, undefined, 'InvalidPrivateKey', /holds 2 private keys/],
    ['a key without its END line', () => pki.leafKeyPem.slice(0, 600), undefined, 'InvalidPrivateKey', /truncated/],
    ['a key cut short inside its base64', () => pki.leafKeyPem.slice(0, 600) + '\n-----END PRIVATE KEY-----\n', undefined, 'InvalidPrivateKey', /truncated|not valid DER|damaged/],
    ['a 512-bit RSA key', () => write('rsa512.pem', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:512']), undefined, 'UnsupportedKey', /512 bits; at least 1024/],
    ['a P-521 key', () => write('p521.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']), undefined, 'UnsupportedKey', /curve secp521r1; only P-256 and P-384/],
    ['an Ed25519 key', () => write('ed25519.pem', ['genpkey', '-algorithm', 'ED25519']), undefined, 'UnsupportedKey', /ed25519 key; only RSA and ECDSA/],
    ['an RSA-PSS key', () => write('pss.pem', ['genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024']), undefined, 'UnsupportedKey', /RSA-PSS/],
    ['an encrypted key with more PBKDF2 iterations than accepted', () => write('slow.pem', ['pkcs8', '-topk8', '-in', 'ecleaf.key', '-v2', 'aes-256-cbc', '-iter', '2000001', '-passout', 'pass:s3cret!']), 's3cret!',
      'UnsupportedKey', /2000001 KDF iterations; at most 2000000/],
    ['an encrypted key with a cipher that is not supported', () => write('camellia.pem', ['pkcs8', '-topk8', '-in', 'ecleaf.key', '-v2', 'camellia-256-cbc', '-passout', 'pass:s3cret!']), 's3cret!',
      'UnsupportedKey', /cannot read/],
    ['an EC key whose stored public key belongs to another key', () => mismatchedSec1(), undefined, 'InvalidPrivateKey', /damaged: its parts do not form a working key/],
  ];

  it.each(refused)('refuses %s', async (_sentence, pem, password, code, message) => {
    const error = await domainErrorAsync(() => parsePrivateKey(pem(), password));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    if (password) expect(error.message).not.toContain(password);
  });
});

/** A SEC1 key for P-256 key A carrying the public point of key B. */
function mismatchedSec1(): string {
  const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sec1 = (k: typeof a) => asn1js.fromBER(new Uint8Array(k.privateKey.export({ type: 'sec1', format: 'der' }) as Buffer)).result as asn1js.Sequence;
  const target = sec1(a);
  target.valueBlock.value[3] = sec1(b).valueBlock.value[3];
  const der = Buffer.from(target.toBER(false));
  const label = ['EC', 'PRIVATE', 'KEY'].join(' '); // assembled: no key-like literal in the repository
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
}

describe('keyMatchesCertificate and publicKeyMatches', () => {
  it('matches a key with its own certificate only', async () => {
    const rsa = (await parsePrivateKey(pki.leafKeyPem)).pkcs8;
    const ec = (await parsePrivateKey(pki.ecLeafKeyPem)).pkcs8;
    expect(await keyMatchesCertificate(rsa, pki.leafPem)).toBe(true);
    expect(await keyMatchesCertificate(ec, pki.ecLeafPem)).toBe(true);
    expect(await keyMatchesCertificate(rsa, pki.ecLeafPem)).toBe(false);
    expect(await keyMatchesCertificate(ec, pki.leafPem)).toBe(false);
    expect(await keyMatchesCertificate(rsa, pki.intermediatePem)).toBe(false);
  });

  it('refuses a key that is not PKCS#8 and a certificate that is not one', async () => {
    expect((await domainErrorAsync(() => keyMatchesCertificate(Buffer.from('junk'), pki.leafPem))).code).toBe('InvalidPrivateKey');
    const rsa = (await parsePrivateKey(pki.leafKeyPem)).pkcs8;
    expect((await domainErrorAsync(() => keyMatchesCertificate(rsa, 'junk'))).code).toBe('NotACertificate');
  });

  it('matches an issued certificate with the request it answers', async () => {
    expect(await publicKeyMatches(pki.leafPem, pki.openssl.text('leaf.csr'))).toBe(true);
    expect(await publicKeyMatches(pki.ecLeafPem, pki.openssl.text('ecleaf.csr'))).toBe(true);
    expect(await publicKeyMatches(pki.leafPem, pki.openssl.text('ecleaf.csr'))).toBe(false);
    expect(await publicKeyMatches(pki.intermediatePem, pki.openssl.text('leaf.csr'))).toBe(false);
  });

  it('refuses a request that is not PKCS#10', async () => {
    expect((await domainErrorAsync(() => publicKeyMatches(pki.leafPem, pki.leafPem))).code).toBe('InvalidCsr');
  });
});
