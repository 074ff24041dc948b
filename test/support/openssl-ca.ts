import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real certification authority run with the openssl command line: a root, an issuing
 * intermediate, and leaf certificates signed from CSRs (as a commercial CA would).
 */
export class OpensslCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'certflow-ca-'));
  private serial = 1000;

  constructor(readonly name = 'Test') {
    this.run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.path('root.key'), '-out', this.path('root.pem'), '-days', '3650',
      '-subj', `/C=US/O=${name} Trust/CN=${name} Root CA`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
    this.run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.path('inter.key'), '-out', this.path('inter.csr'), '-subj', `/C=US/O=${name} Trust/CN=${name} Issuing CA 1`]);
    this.write('inter.ext', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    this.run(['x509', '-req', '-in', this.path('inter.csr'), '-CA', this.path('root.pem'), '-CAkey', this.path('root.key'), '-set_serial', '2',
      '-days', '1825', '-extfile', this.path('inter.ext'), '-out', this.path('inter.pem')]);
  }

  path(file: string): string {
    return join(this.dir, file);
  }
  write(file: string, content: string | Buffer): string {
    writeFileSync(this.path(file), content);
    return this.path(file);
  }
  read(file: string): string {
    return readFileSync(this.path(file), 'utf8');
  }
  run(args: string[], input?: string): string {
    return execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  get rootPem(): string {
    return this.read('root.pem');
  }
  get intermediatePem(): string {
    return this.read('inter.pem');
  }

  /** Signs a CSR with the intermediate, copying its SANs (as CAs do), for serverAuth. */
  signCsr(csrPem: string, options: { days?: number; name?: string; startDate?: string; endDate?: string } = {}): string {
    const name = options.name ?? `leaf${this.serial}`;
    this.write(`${name}.csr`, csrPem);
    this.write(`${name}.ext`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nauthorityKeyIdentifier=keyid\n');
    this.run(['x509', '-req', '-in', this.path(`${name}.csr`), '-CA', this.path('inter.pem'), '-CAkey', this.path('inter.key'),
      '-set_serial', String(this.serial++), '-days', String(options.days ?? 365), '-copy_extensions', 'copy',
      '-extfile', this.path(`${name}.ext`), '-out', this.path(`${name}.pem`)]);
    return this.read(`${name}.pem`);
  }

  /** A key and certificate made entirely at the CA (for imports of certificates made elsewhere). */
  issueWithKey(cn: string, sans: string[], options: { days?: number; notAfterPast?: boolean } = {}): { certPem: string; keyPem: string; name: string } {
    const name = `ext${this.serial}`;
    this.run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.path(`${name}.key`), '-out', this.path(`${name}.csr`), '-subj', `/CN=${cn}`,
      '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`]);
    if (options.notAfterPast) {
      // An expired certificate: valid for one day, two years ago (openssl x509 -not_before/-not_after need 3.4; use ca's -startdate/-enddate).
      this.write(`${name}.ext`, `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}\n`);
      this.write('index.txt', '');
      this.write('ca.cnf', `[ca]\ndefault_ca=x\n[x]\ndatabase=${this.path('index.txt')}\nnew_certs_dir=${this.dir}\nserial=${this.path('serial')}\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`);
      this.write('serial', `${(this.serial++).toString(16).padStart(4, '0')}\n`);
      this.run(['ca', '-batch', '-config', this.path('ca.cnf'), '-in', this.path(`${name}.csr`), '-cert', this.path('inter.pem'), '-keyfile', this.path('inter.key'),
        '-startdate', '20240101000000Z', '-enddate', '20240102000000Z', '-extfile', this.path(`${name}.ext`), '-out', this.path(`${name}.pem`), '-notext']);
    } else {
      this.signCsr(this.read(`${name}.csr`), { name, days: options.days });
    }
    return { certPem: this.read(`${name}.pem`), keyPem: this.read(`${name}.key`), name };
  }

  /** A PKCS#7 bundle (.p7b) of the given PEM files, as PEM or DER. */
  p7b(pems: string[], outform: 'PEM' | 'DER' = 'PEM'): Buffer {
    const args = ['crl2pkcs7', '-nocrl', '-outform', outform, '-out', this.path(`bundle.${outform}`)];
    pems.forEach((p, i) => args.push('-certfile', this.write(`b${i}.pem`, p)));
    this.run(args);
    return readFileSync(this.path(`bundle.${outform}`));
  }

  /** A PFX made by openssl pkcs12 -export. */
  pfx(certPem: string, keyPem: string, password: string, chain: string[] = []): Buffer {
    const args = ['pkcs12', '-export', '-in', this.write('p.pem', certPem), '-inkey', this.write('p.key', keyPem), '-out', this.path('p.pfx'), '-passout', `pass:${password}`];
    if (chain.length) args.push('-certfile', this.write('pchain.pem', chain.join('')));
    this.run(args);
    return readFileSync(this.path('p.pfx'));
  }

  fingerprint(pem: string, alg: 'sha1' | 'sha256' = 'sha1'): string {
    return this.run(['x509', '-noout', '-fingerprint', `-${alg}`], pem).trim().split('=')[1].replace(/:/g, '');
  }
}
