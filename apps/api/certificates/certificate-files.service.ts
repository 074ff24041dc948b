import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Clock, EventStore, handleCertificateCommand, loadCertificate } from '../../../libs/application/src';
import {
  KeyVault, certificateFacts, createPkcs12, keyLabel, keyMatchesCertificate, orderChain, parseCertificates, parseKeyLabel,
  parsePkcs12, parsePrivateKey, publicKeyMatches,
} from '../../../libs/crypto/src';
import { DomainError, ImportFormat, KeySpec, decide } from '../../../libs/domain/src';
import { RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, EVENT_STORE, KEY_VAULT, PG_POOL } from '../common/tokens';
import { ExportDto, ImportExternalDto, ImportIssuedDto } from './certificates.dto';

/** What arrived in an import request body: JSON fields, or a raw upload (DER, PKCS#7, PEM text). */
export type ImportBody = { kind: 'json'; dto: ImportIssuedDto } | { kind: 'raw'; data: Buffer | string };

/**
 * Import (Import-ExchangeCertificate) and export of certificate files. Parsing and PKCS#12
 * live in libs/crypto; this service checks the rules (the key must match, nothing is written
 * on a refusal) and records every import and export as an event.
 */
@Injectable()
export class CertificateFilesService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
  ) {}

  /** The certificate a CA issued for a pending request: it must carry the request's public key. */
  async importIssued(id: string, body: ImportBody, who: RequestActor): Promise<{ warnings: string[] }> {
    const { state } = await loadCertificate(this.store, id);
    if (state.state === 'Initial') throw new DomainError('CertificateNotFound', `No certificate with id ${id}.`, 'not-found');
    if (state.state !== 'RequestGenerated' && state.state !== 'Submitted') {
      throw new DomainError('InvalidLifecycleState', `Importing the issued certificate is not possible while the certificate is ${state.state}; it needs a pending request (RequestGenerated or Submitted).`, 'conflict', { state: state.state });
    }
    const input = body.kind === 'json' ? body.dto.certificate : body.data;
    const parsed = parseCertificates(input);
    const extra = body.kind === 'json' ? (body.dto.intermediates ?? []).flatMap((i) => parseCertificates(i).certificates) : [];
    const { leaf, chain } = orderChain([...parsed.certificates, ...extra]);
    if (!(await publicKeyMatches(leaf, state.csrPem))) {
      const facts = await certificateFacts(leaf);
      throw new DomainError(
        'KeyMismatch',
        `The certificate ${facts.subject} (${facts.thumbprint}) was not issued for this request: its public key differs from the request's. Nothing was changed.`,
        'conflict',
      );
    }
    const facts = await certificateFacts(leaf);
    const warnings = sanWarnings(state.request.domainNames, facts.certificateDomains);
    await handleCertificateCommand(this.store, id, {
      type: 'ImportIssuedCertificate',
      data: { ...facts, certificatePem: leaf, chainPem: chain, format: parsed.format as ImportFormat, warnings },
      actor: who.actor,
    }, metadataFor(who, this.clock.now()));
    return { warnings };
  }

  /** A certificate made elsewhere: a PFX with its key, a certificate with a PEM key, or a certificate alone. */
  async importExternal(dto: ImportExternalDto, who: RequestActor): Promise<{ id: string }> {
    let certificates: string[];
    let key: { pkcs8: Buffer; spec: KeySpec } | null = null;
    let format: ImportFormat;
    let friendlyName = dto.friendlyName ?? null;
    if (dto.pfx !== undefined) {
      if (dto.certificate !== undefined || dto.privateKey !== undefined) {
        throw new DomainError('AmbiguousImport', 'Send either pfx (with password) or certificate (with an optional privateKey), not both.', 'invalid');
      }
      const der = Buffer.from(dto.pfx.replace(/\s+/g, ''), 'base64');
      if (der.length === 0) throw new DomainError('InvalidPkcs12', 'pfx must be the PFX file as base64.', 'invalid');
      const p12 = await parsePkcs12(der, dto.password ?? '');
      certificates = p12.certificates;
      key = p12.privateKey;
      format = 'pkcs12';
      friendlyName ??= p12.friendlyName;
    } else if (dto.certificate !== undefined) {
      const parsed = parseCertificates(dto.certificate);
      certificates = parsed.certificates;
      format = dto.privateKey !== undefined ? 'pem+key' : (parsed.format as ImportFormat);
      if (dto.privateKey !== undefined) key = await parsePrivateKey(dto.privateKey, dto.privateKeyPassword);
    } else {
      throw new DomainError('NothingToImport', 'Send pfx (base64) with password, or certificate with an optional privateKey.', 'invalid');
    }
    const extra = (dto.intermediates ?? []).flatMap((i) => parseCertificates(i).certificates);
    if (certificates.length === 0) throw new DomainError('EmptyBundle', 'The file holds no certificate.', 'invalid');
    const { leaf, chain } = orderChain([...certificates, ...extra]);
    const facts = await certificateFacts(leaf);
    if (key && !(await keyMatchesCertificate(key.pkcs8, leaf))) {
      throw new DomainError('KeyMismatch', `The private key does not belong to the certificate ${facts.subject} (${facts.thumbprint}). Nothing was imported.`, 'unprocessable');
    }
    const existing = await this.pool.query<{ id: string }>(
      `SELECT id FROM certificate_view WHERE thumbprint = $1 AND state <> 'Removed' LIMIT 1`,
      [facts.thumbprint],
    );
    if (existing.rows[0]) {
      throw new DomainError('CertificateAlreadyExists', `The certificate ${facts.thumbprint} is already in certflow as ${existing.rows[0].id}.`, 'conflict', { id: existing.rows[0].id });
    }
    const id = randomUUID();
    if (key) await this.vault.putIfAbsent(id, keyLabel(key.spec), key.pkcs8);
    await handleCertificateCommand(this.store, id, {
      type: 'ImportExternalCertificate',
      data: {
        ...facts,
        certificateId: id,
        certificatePem: leaf,
        chainPem: chain,
        format,
        keyId: key ? id : null,
        privateKeyExportable: dto.privateKeyExportable ?? false,
        friendlyName,
      },
      actor: who.actor,
    }, metadataFor(who, this.clock.now()));
    return { id };
  }

  /** A PFX with the key and chain. Built first, then recorded, then handed out: no unaudited export. */
  async exportPfx(id: string, dto: ExportDto, who: RequestActor): Promise<{ filename: string; data: Buffer }> {
    const { state } = await loadCertificate(this.store, id);
    if (state.state === 'Initial') throw new DomainError('CertificateNotFound', `No certificate with id ${id}.`, 'not-found');
    const command = { type: 'ExportCertificate' as const, data: { format: 'pfx' as const, includesKey: true, legacy: dto.legacy === true }, actor: who.actor };
    // Check the rules before touching the key (the same decide runs again on append).
    decide(command, state);
    if (!('certificate' in state) || !state.certificate || !state.keyId) throw new DomainError('NoPrivateKey', 'certflow holds no private key for this certificate.', 'conflict');
    const stored = await this.vault.get(state.keyId);
    if (!stored) throw new DomainError('NoPrivateKey', 'The private key of this certificate is missing from the key vault.', 'conflict');
    const data = await createPkcs12({
      certificatePem: state.certificate.certificatePem,
      chainPem: state.certificate.chainPem,
      pkcs8: stored.pkcs8,
      spec: parseKeyLabel(stored.label),
      password: dto.password,
      friendlyName: state.request.friendlyName ?? undefined,
      legacy: dto.legacy === true,
    });
    await handleCertificateCommand(this.store, id, command, metadataFor(who, this.clock.now()));
    return { filename: `${state.certificate.thumbprint}.pfx`, data };
  }
}

/** Differences between the names requested and the names the CA put in the certificate. */
function sanWarnings(requested: readonly string[], issued: readonly string[]): string[] {
  const have = new Set(issued.map((d) => d.toLowerCase()));
  const asked = new Set(requested.map((d) => d.toLowerCase()));
  const warnings: string[] = [];
  const missing = [...asked].filter((d) => !have.has(d));
  const added = [...have].filter((d) => !asked.has(d));
  if (missing.length) warnings.push(`The certificate does not cover requested name(s): ${missing.join(', ')}.`);
  if (added.length) warnings.push(`The certificate also covers name(s) that were not requested: ${added.join(', ')}.`);
  return warnings;
}
