/*
 * Not a test: real inputs made with the openssl command line, shared by the crypto specs.
 * (The .spec.ts suffix keeps this file out of the build; jest only runs *.unit.spec.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Openssl {
  readonly dir = mkdtempSync(join(tmpdir(), 'certflow-crypto-'));

  path(file: string): string {
    return join(this.dir, file);
  }
  write(file: string, content: string | Buffer): string {
    writeFileSync(this.path(file), content);
    return this.path(file);
  }
  text(file: string): string {
    return readFileSync(this.path(file), 'utf8');
  }
  bytes(file: string): Buffer {
    return readFileSync(this.path(file));
  }
  run(args: string[], input?: string | Buffer): string {
    return execFileSync('openssl', args, { cwd: this.dir, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
  }
  /** Runs openssl and reports its exit status and output instead of throwing. */
  status(args: string[], input?: string | Buffer): { code: number; output: string } {
    const result = spawnSync('openssl', args, { cwd: this.dir, input });
    return { code: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PkiFixture {
  readonly openssl: Openssl;
  readonly rootPem: string;
  readonly intermediatePem: string;
  /** RSA-2048 leaf signed by the intermediate. */
  readonly leafPem: string;
  readonly leafKeyPem: string;
  /** ECDSA P-256 leaf signed by the intermediate. */
  readonly ecLeafPem: string;
  readonly ecLeafKeyPem: string;
  readonly otherRootPem: string;
}

/** Root CA (RSA) → issuing CA (RSA) → two leaves (RSA-2048, P-256), and an unrelated root. */
export function createPki(): PkiFixture {
  const o = new Openssl();
  o.write('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  o.write('leaf.ext', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:mail.contoso.com\nauthorityKeyIdentifier=keyid\n');
  o.run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-subj', '/C=US/O=Contoso Trust/CN=Contoso Root CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  o.run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/C=US/O=Contoso Trust/CN=Contoso Issuing CA 1']);
  o.run(['x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '2', '-days', '1825', '-extfile', 'ca.ext', '-out', 'inter.pem']);
  o.run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/C=US/O=Contoso/CN=mail.contoso.com']);
  o.run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-set_serial', '100', '-days', '365', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
  o.run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ecleaf.key', '-out', 'ecleaf.csr', '-subj', '/C=US/O=Contoso/CN=ec.contoso.com']);
  o.run(['x509', '-req', '-in', 'ecleaf.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-set_serial', '101', '-days', '365', '-extfile', 'leaf.ext', '-out', 'ecleaf.pem']);
  o.run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '3650', '-subj', '/CN=Fabrikam Root CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    openssl: o,
    rootPem: o.text('root.pem'),
    intermediatePem: o.text('inter.pem'),
    leafPem: o.text('leaf.pem'),
    leafKeyPem: o.text('leaf.key'),
    ecLeafPem: o.text('ecleaf.pem'),
    ecLeafKeyPem: o.text('ecleaf.key'),
    otherRootPem: o.text('other.pem'),
  };
}

/** The base64 body of a PEM block, as one line. */
export const pemBody = (pem: string): string => pem.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
export const pemToDer = (pem: string): Buffer => Buffer.from(pemBody(pem), 'base64');
/** Same certificate, compared by its DER. */
export const sameDer = (a: string, b: string): boolean => pemToDer(a).equals(pemToDer(b));
