import { IssuedCertificateFacts, KeySpec } from '../../domain/src';
import { KeyService } from '../../application/src';
import { certificateFacts, createCsr } from './certificates';
import { KeyVault } from './key-vault.adapter';
import { KeyPair, exportPkcs8, generateKeyPair, importKeyPair, keyLabel, parseKeyLabel } from './keys';

export class VaultKeyService implements KeyService {
  constructor(private readonly vault: KeyVault) {}

  async ensureKey(keyId: string, spec: KeySpec): Promise<void> {
    await this.loadOrCreate(keyId, spec);
  }

  async createCsr(keyId: string, spec: KeySpec, subject: string | null, domainNames: readonly string[]): Promise<string> {
    const keys = await this.loadOrCreate(keyId, spec);
    return createCsr({ subject, domainNames, key: spec, keys });
  }

  certificateFacts(pem: string): Promise<IssuedCertificateFacts> {
    return certificateFacts(pem);
  }

  private async loadOrCreate(keyId: string, spec: KeySpec): Promise<KeyPair> {
    const stored = await this.vault.get(keyId);
    if (stored) return importKeyPair(stored.pkcs8, parseKeyLabel(stored.label));
    const keys = await generateKeyPair(spec);
    const inserted = await this.vault.putIfAbsent(keyId, keyLabel(spec), await exportPkcs8(keys.privateKey));
    if (inserted) return keys;
    // Another run stored a key under this id first: use that one, so CSR and key always match.
    const winner = await this.vault.get(keyId);
    return importKeyPair(winner!.pkcs8, parseKeyLabel(winner!.label));
  }
}
