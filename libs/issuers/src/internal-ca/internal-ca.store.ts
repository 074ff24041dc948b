import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Clock, ConcurrencyError, EventStore } from '../../../application/src';
import {
  CA_KEY, KeyPair, KeyVault, createInternalCa, importKeyPair, keyLabel, parseCertificates, parseKeyLabel, parsePrivateKey,
} from '../../../crypto/src';
import { INTERNAL_CA_STREAM, InternalCaEvent } from '../../../domain/src';

export interface InternalCa {
  rootPem: string;
  intermediatePem: string;
  /** The issuing key, only in memory of the process that signs. */
  issuer: { keys: KeyPair; spec: import('../../../domain/src').KeySpec };
}

export interface InternalCaSource {
  /** An existing CA to import instead of generating one (PEM certificate + PEM key; the CA issues directly). */
  importCertPem?: string | null;
  importKeyPem?: string | null;
  name: string;
}

/**
 * The internal CA's material. Created on first use — generated, or imported from configured
 * files — and recorded as `InternalCaCreated` with an expected version of 0, so that two
 * workers starting together end up with one CA.
 */
export class InternalCaStore {
  private cached: InternalCa | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly vault: KeyVault,
    private readonly clock: Clock,
    private readonly source: InternalCaSource,
  ) {}

  /** The CA's certificates, if it exists already (no keys are loaded). */
  async certificates(): Promise<{ rootPem: string; intermediatePem: string } | null> {
    const { rows } = await this.pool.query<{ root_pem: string; intermediate_pem: string }>('SELECT root_pem, intermediate_pem FROM internal_ca');
    return rows[0] ? { rootPem: rows[0].root_pem, intermediatePem: rows[0].intermediate_pem } : null;
  }

  async get(): Promise<InternalCa> {
    if (this.cached) return this.cached;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.pool.query<{ root_pem: string; intermediate_pem: string; intermediate_key_id: string }>(
        'SELECT root_pem, intermediate_pem, intermediate_key_id FROM internal_ca',
      );
      if (rows[0]) {
        const stored = await this.vault.get(rows[0].intermediate_key_id);
        if (!stored) throw new Error('the internal CA key is missing from the key vault');
        const spec = parseKeyLabel(stored.label);
        this.cached = { rootPem: rows[0].root_pem, intermediatePem: rows[0].intermediate_pem, issuer: { keys: await importKeyPair(stored.pkcs8, spec), spec } };
        return this.cached;
      }
      await this.create();
    }
    throw new Error('the internal CA could not be set up');
  }

  private async create(): Promise<void> {
    let data: InternalCaEvent['data'];
    if (this.source.importCertPem && this.source.importKeyPem) {
      const [cert] = parseCertificates(this.source.importCertPem).certificates;
      const key = await parsePrivateKey(this.source.importKeyPem);
      const keyId = randomUUID();
      await this.vault.putIfAbsent(keyId, keyLabel(key.spec), key.pkcs8);
      // An imported CA certificate is both the root of trust and the issuer.
      data = { rootPem: cert, intermediatePem: cert, rootKeyId: keyId, intermediateKeyId: keyId, imported: true };
    } else {
      const ca = await createInternalCa(this.source.name, this.clock.now());
      const rootKeyId = randomUUID();
      const intermediateKeyId = randomUUID();
      await this.vault.putIfAbsent(rootKeyId, keyLabel(CA_KEY), ca.rootPkcs8);
      await this.vault.putIfAbsent(intermediateKeyId, keyLabel(CA_KEY), ca.intermediatePkcs8);
      data = { rootPem: ca.rootPem, intermediatePem: ca.intermediatePem, rootKeyId, intermediateKeyId, imported: false };
    }
    try {
      await this.store.appendToStream(INTERNAL_CA_STREAM, [{ type: 'InternalCaCreated', data }], {
        expectedVersion: 0,
        metadata: { actor: 'certflow', at: this.clock.now().toISOString(), correlationId: randomUUID(), causationId: null },
      });
    } catch (e) {
      if (!(e instanceof ConcurrencyError)) throw e; // another process created it first: use theirs
    }
  }
}
