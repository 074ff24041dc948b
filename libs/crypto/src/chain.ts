import { createHash } from 'node:crypto';
import { x509 } from './x509';

/**
 * Where a trusted root comes from. This becomes Exchange's RootCAType: `ThirdParty` for the
 * Mozilla roots that ship with Node, `Registry` for roots an operator added, and `Internal`
 * for certflow's own CA.
 */
export type AnchorSource = 'ThirdParty' | 'Registry' | 'Internal';
export type RootCAType = 'None' | AnchorSource | 'Unknown';

export interface TrustAnchorInput {
  readonly pem: string;
  readonly source: AnchorSource;
}

interface ParsedCert {
  readonly pem: string;
  readonly cert: x509.X509Certificate;
  readonly sha256: string;
}

/** The trust anchors, parsed once and indexed by subject. Build a new set when the roots change. */
export class TrustAnchors {
  private readonly bySubject = new Map<string, (ParsedCert & { source: AnchorSource })[]>();
  private readonly bySha256 = new Map<string, AnchorSource>();

  constructor(inputs: readonly TrustAnchorInput[]) {
    // Registry and Internal roots come before ThirdParty, so a root an operator added explicitly
    // is reported as Registry even when Mozilla ships it too.
    const order: Record<AnchorSource, number> = { Internal: 0, Registry: 1, ThirdParty: 2 };
    for (const input of [...inputs].sort((a, b) => order[a.source] - order[b.source])) {
      let parsed: ParsedCert;
      try {
        parsed = parse(input.pem);
      } catch {
        continue; // a root Node ships that the library cannot read is simply not an anchor
      }
      if (this.bySha256.has(parsed.sha256)) continue;
      this.bySha256.set(parsed.sha256, input.source);
      const list = this.bySubject.get(parsed.cert.subject) ?? [];
      list.push({ ...parsed, source: input.source });
      this.bySubject.set(parsed.cert.subject, list);
    }
  }

  /**
   * A new set with more anchors, sharing this one's parsed certificates (parsing Node's ~150
   * Mozilla roots takes a second or more; adding an operator's root should not). Added anchors
   * take precedence for a certificate both sets hold.
   */
  extend(inputs: readonly TrustAnchorInput[]): TrustAnchors {
    const next = new TrustAnchors([]);
    for (const [subject, list] of this.bySubject) next.bySubject.set(subject, [...list]);
    for (const [sha, source] of this.bySha256) next.bySha256.set(sha, source);
    for (const input of inputs) {
      let parsed: ParsedCert;
      try {
        parsed = parse(input.pem);
      } catch {
        continue;
      }
      next.bySha256.set(parsed.sha256, input.source);
      const list = (next.bySubject.get(parsed.cert.subject) ?? []).filter((c) => c.sha256 !== parsed.sha256);
      next.bySubject.set(parsed.cert.subject, [{ ...parsed, source: input.source }, ...list]);
    }
    return next;
  }

  get size(): number {
    return this.bySha256.size;
  }

  sourceOf(sha256: string): AnchorSource | null {
    return this.bySha256.get(sha256) ?? null;
  }

  candidatesFor(issuer: string): readonly (ParsedCert & { source: AnchorSource })[] {
    return this.bySubject.get(issuer) ?? [];
  }
}

/** Where CRLs come from: returns the DER, or null when the distribution point cannot be reached. */
export interface CrlSource {
  fetch(url: string): Promise<ArrayBuffer | null>;
}

export type RevocationState = 'good' | 'revoked' | 'unknown' | 'notChecked';

export interface ChainEvaluation {
  /** The certification path, leaf first, as far as it could be built. */
  readonly path: readonly string[];
  readonly isSelfSigned: boolean;
  /** The leaf's signature verifies with its issuer's key (its own key, when self-signed). */
  readonly signatureValid: boolean;
  /** The path ends in a trust anchor. */
  readonly chainTrusted: boolean;
  readonly rootCAType: RootCAType;
  /** The anchor at the top of the path, when trusted. */
  readonly root: string | null;
  /** Problems with a CA in the path (not a CA, broken signature, expired, revoked). Any of these makes the status Invalid. */
  readonly caProblems: readonly string[];
  /** The leaf's revocation status. `notChecked`: it names no CRL distribution point. */
  readonly revocation: RevocationState;
  readonly revocationDetail: string | null;
  /** The leaf's extended key usages by name (serverAuth, clientAuth...) or OID; null when it has no EKU extension. */
  readonly enhancedKeyUsage: readonly string[] | null;
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

function parse(pem: string): ParsedCert {
  const cert = new x509.X509Certificate(pem);
  return { pem: cert.toString('pem'), cert, sha256: createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex').toUpperCase() };
}

const verifies = (cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> =>
  cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false);

const keyId = (cert: x509.X509Certificate, which: 'subject' | 'authority'): string | null => {
  try {
    if (which === 'subject') return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? null;
    return cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId ?? null;
  } catch {
    return null;
  }
};

function isCa(cert: x509.X509Certificate): { ok: boolean; why?: string } {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc || !bc.ca) return { ok: false, why: 'basicConstraints does not say cA=true' };
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) return { ok: false, why: 'keyUsage lacks keyCertSign' };
  return { ok: true };
}

function crlUrls(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension(x509.CRLDistributionPointsExtension);
  if (!ext) return [];
  const urls: string[] = [];
  for (const dp of ext.distributionPoints) {
    for (const name of dp.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri && /^https?:\/\//i.test(uri)) urls.push(uri);
    }
  }
  return urls;
}

/** Checks one certificate against the CRLs its distribution points publish, signed by its issuer. */
async function revocationOf(cert: x509.X509Certificate, issuer: x509.X509Certificate, crls: CrlSource | null, now: Date): Promise<{ state: RevocationState; detail: string | null }> {
  const urls = crlUrls(cert);
  if (urls.length === 0) return { state: 'notChecked', detail: null };
  if (!crls) return { state: 'unknown', detail: 'revocation checking is not available' };
  const failures: string[] = [];
  for (const url of urls) {
    const der = await crls.fetch(url).catch(() => null);
    if (!der) {
      failures.push(`${url} could not be reached`);
      continue;
    }
    let crl: x509.X509Crl;
    try {
      crl = new x509.X509Crl(der);
    } catch {
      failures.push(`${url} did not return a CRL`);
      continue;
    }
    if (!(await crl.verify({ publicKey: issuer.publicKey }).catch(() => false))) {
      failures.push(`the CRL from ${url} is not signed by ${issuer.subject}`);
      continue;
    }
    if (crl.nextUpdate && crl.nextUpdate.getTime() < now.getTime() - 86_400_000) {
      failures.push(`the CRL from ${url} is stale (next update was ${crl.nextUpdate.toISOString()})`);
      continue;
    }
    const entry = crl.findRevoked(cert);
    if (entry) return { state: 'revoked', detail: `listed on ${url} since ${entry.revocationDate.toISOString()}${entry.reason !== undefined ? ` (reason ${entry.reason})` : ''}` };
    return { state: 'good', detail: `not listed on ${url}` };
  }
  return { state: 'unknown', detail: failures.join('; ') };
}

/**
 * Builds the certification path from the leaf through the given intermediates to a trust
 * anchor, verifying the signature at every link. It checks each CA's basicConstraints,
 * keyUsage and validity, and checks revocation through CRLs when a CrlSource is given.
 * Validity of the leaf itself is left to the status policy, which applies the clock.
 */
export async function evaluateChain(
  leafPem: string,
  intermediatePems: readonly string[],
  anchors: TrustAnchors,
  now: Date,
  crls: CrlSource | null = null,
): Promise<ChainEvaluation> {
  const leaf = parse(leafPem);
  const pool = intermediatePems.map((p) => {
    try {
      return parse(p);
    } catch {
      return null;
    }
  }).filter((p): p is ParsedCert => p !== null);
  const eku = leaf.cert.getExtension(x509.ExtendedKeyUsageExtension);
  const enhancedKeyUsage = eku ? eku.usages.map((u) => EKU_NAMES[String(u)] ?? String(u)) : null;

  const selfIssued = leaf.cert.subject === leaf.cert.issuer;
  const selfSigned = selfIssued && (await verifies(leaf.cert, leaf.cert));
  if (selfSigned) {
    const source = anchors.sourceOf(leaf.sha256);
    return {
      path: [leaf.pem],
      isSelfSigned: true,
      signatureValid: true,
      chainTrusted: source !== null,
      // A self-signed end-entity certificate is RootCAType None, even if an operator trusts it.
      rootCAType: source && isCa(leaf.cert).ok ? source : 'None',
      root: source ? leaf.pem : null,
      caProblems: [],
      revocation: 'notChecked',
      revocationDetail: null,
      enhancedKeyUsage,
    };
  }

  const path: (ParsedCert & { source?: AnchorSource })[] = [leaf];
  const caProblems: string[] = [];
  let signatureValid: boolean | null = null;
  let anchor: (ParsedCert & { source: AnchorSource }) | null = null;
  for (let depth = 0; depth < 8; depth++) {
    const current = path[path.length - 1].cert;
    const aki = keyId(current, 'authority');
    const candidates = [
      ...anchors.candidatesFor(current.issuer),
      ...pool.filter((p) => p.cert.subject === current.issuer && !path.some((q) => q.sha256 === p.sha256)),
    ].filter((c) => !aki || !keyId(c.cert, 'subject') || keyId(c.cert, 'subject') === aki);
    let next: (ParsedCert & { source?: AnchorSource }) | null = null;
    for (const c of candidates) {
      if (await verifies(current, c.cert)) {
        next = c;
        break;
      }
    }
    if (!next) {
      if (depth === 0) signatureValid = candidates.length === 0 ? true : false; // issuer unknown: cannot tell; issuer known but no key verifies: broken
      break;
    }
    if (depth === 0) signatureValid = true;
    const ca = isCa(next.cert);
    if (!ca.ok) caProblems.push(`${next.cert.subject} is not a CA: ${ca.why}`);
    if (now < next.cert.notBefore || now > next.cert.notAfter) caProblems.push(`the CA certificate ${next.cert.subject} is outside its validity period (${next.cert.notBefore.toISOString()} – ${next.cert.notAfter.toISOString()})`);
    path.push(next);
    const source = 'source' in next && next.source ? next.source : anchors.sourceOf(next.sha256);
    if (source) {
      anchor = { ...next, source };
      break;
    }
    if (next.cert.subject === next.cert.issuer) break; // an untrusted root: the path ends here
  }

  // Revocation: the leaf against its issuer's CRL; each intermediate against its own issuer's.
  let revocation: { state: RevocationState; detail: string | null } = { state: 'notChecked', detail: null };
  if (path.length > 1) {
    revocation = await revocationOf(leaf.cert, path[1].cert, crls, now);
    for (let i = 1; i < path.length - 1; i++) {
      const r = await revocationOf(path[i].cert, path[i + 1].cert, crls, now);
      if (r.state === 'revoked') caProblems.push(`the CA certificate ${path[i].cert.subject} is revoked: ${r.detail}`);
    }
  }

  return {
    path: path.map((p) => p.pem),
    isSelfSigned: false,
    signatureValid: signatureValid ?? true,
    chainTrusted: anchor !== null,
    rootCAType: anchor ? anchor.source : 'Unknown',
    root: anchor ? anchor.pem : null,
    caProblems,
    revocation: revocation.state,
    revocationDetail: revocation.detail,
    enhancedKeyUsage,
  };
}

/**
 * Fetches CRLs over HTTP with a short timeout, and caches each one until its nextUpdate (at
 * most an hour). A distribution point that cannot be reached is remembered for a minute, so
 * that listing many certificates does not wait on it again and again.
 */
export class HttpCrlSource implements CrlSource {
  private readonly cache = new Map<string, { der: ArrayBuffer | null; until: number }>();

  constructor(private readonly timeoutMs = 2_000) {}

  async fetch(url: string): Promise<ArrayBuffer | null> {
    const hit = this.cache.get(url);
    if (hit && hit.until > Date.now()) return hit.der;
    let der: ArrayBuffer | null = null;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.ok) der = await res.arrayBuffer();
    } catch {
      der = null;
    }
    let until = Date.now() + 60_000;
    if (der) {
      try {
        const next = new x509.X509Crl(der).nextUpdate?.getTime() ?? 0;
        until = Math.min(Date.now() + 3_600_000, Math.max(Date.now() + 60_000, next));
      } catch {
        // not a CRL; cache the failure briefly
      }
    }
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(url, { der, until });
    return der;
  }
}

/** Whether a certificate can serve as a trust anchor: self-signed, and a CA (basicConstraints cA, keyCertSign). */
export async function isRootCertificate(pem: string): Promise<boolean> {
  const { cert } = parse(pem);
  return cert.subject === cert.issuer && isCa(cert).ok && (await verifies(cert, cert));
}
