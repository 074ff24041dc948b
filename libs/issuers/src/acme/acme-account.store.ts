import * as acme from 'acme-client';
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Clock, ConcurrencyError, EventStore } from '../../../application/src';
import { KeyVault, keyLabel } from '../../../crypto/src';
import { ACME_ACCOUNT_STREAM_PREFIX, AcmeAccountEvent, KeySpec } from '../../../domain/src';
import { installAcmeTransport } from './acme-transport';

/** The account key: ECDSA P-256 (ES256), which every ACME CA accepts and costs nothing to make. */
export const ACME_ACCOUNT_KEY: KeySpec = { algorithm: 'ECDSA', curve: 'P-256' };

/** One stream per directory, so that switching from staging to production makes a new account. */
export const acmeAccountStream = (directoryUrl: string): string =>
  `${ACME_ACCOUNT_STREAM_PREFIX}${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;

export interface AcmeAccountSettings {
  directoryUrl: string;
  email: string | null;
}

export interface AcmeAccount {
  client: acme.Client;
  accountUrl: string;
  keyId: string;
}

/**
 * certflow's account at the configured ACME CA. Registered on first use: a fresh key goes into
 * the key vault, the CA is asked for an account, and `AcmeAccountRegistered` is appended with
 * expected version 0. Two workers registering at once both reach the CA, but only the first
 * append wins; the other deactivates its own account and uses the recorded one. Within one
 * process concurrent callers share one registration.
 */
export class AcmeAccountStore {
  private pending: Promise<AcmeAccount> | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly vault: KeyVault,
    private readonly clock: Clock,
    private readonly settings: AcmeAccountSettings,
  ) {
    installAcmeTransport();
  }

  get streamId(): string {
    return acmeAccountStream(this.settings.directoryUrl);
  }

  /** The account, registering it if there is none yet. A failed attempt is retried by the next call. */
  account(): Promise<AcmeAccount> {
    if (!this.pending) {
      this.pending = this.loadOrRegister();
      this.pending.catch(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  private async loadOrRegister(): Promise<AcmeAccount> {
    const existing = await this.load();
    if (existing) return existing;
    const keyId = randomUUID();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await this.vault.putIfAbsent(keyId, keyLabel(ACME_ACCOUNT_KEY), privateKey.export({ format: 'der', type: 'pkcs8' }));
    const client = new acme.Client({ directoryUrl: this.settings.directoryUrl, accountKey: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string });
    await client.createAccount({ termsOfServiceAgreed: true, ...(this.settings.email ? { contact: [`mailto:${this.settings.email}`] } : {}) });
    const accountUrl = client.getAccountUrl();
    const data: AcmeAccountEvent['data'] = { directoryUrl: this.settings.directoryUrl, accountUrl, keyId, email: this.settings.email };
    try {
      await this.store.appendToStream(this.streamId, [{ type: 'AcmeAccountRegistered', data }], {
        expectedVersion: 0,
        metadata: { actor: 'certflow', at: this.clock.now().toISOString(), correlationId: randomUUID(), causationId: null },
      });
      return { client, accountUrl, keyId };
    } catch (e) {
      if (!(e instanceof ConcurrencyError)) throw e;
      // Another worker registered first: use its account, and retire ours at the CA.
      await client.updateAccount({ status: 'deactivated' }).catch(() => undefined);
      const winner = await this.load();
      if (!winner) throw new Error(`ACME account stream ${this.streamId} changed but holds no registration`);
      return winner;
    }
  }

  private async load(): Promise<AcmeAccount | null> {
    const events = await this.store.readStream(this.streamId);
    const registered = events.find((e) => e.type === 'AcmeAccountRegistered');
    if (!registered) return null;
    const data = registered.data as AcmeAccountEvent['data'];
    const stored = await this.vault.get(data.keyId);
    if (!stored) throw new Error(`the ACME account key ${data.keyId} is missing from the key vault`);
    const accountKey = createPrivateKey({ key: stored.pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
    const client = new acme.Client({ directoryUrl: data.directoryUrl, accountKey, accountUrl: data.accountUrl });
    return { client, accountUrl: data.accountUrl, keyId: data.keyId };
  }
}
