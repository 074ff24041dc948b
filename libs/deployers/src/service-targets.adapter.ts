import { createPrivateKey } from 'node:crypto';
import {
  DeployResult, Deployer, DeploymentMaterial, PrivateKeySource, ServedCertificateVerifier, ServiceCatalog, VerifyResult,
} from '../../application/src';
import { ServiceTarget, ServicesConfig } from '../../config/src';
import { KeyVault } from '../../crypto/src';
import { FileDeployer } from './file/file.deployer';
import { probeServedCertificate } from './verify/tls-probe';
import { WebhookDeployer } from './webhook/webhook.deployer';

/**
 * The configured services (CERTFLOW_CONFIG) behind the application's ports: which services exist
 * and their host names, the deployer of each (file or webhook), and the check of what each
 * server presents afterwards.
 */
export class ServiceTargets implements ServiceCatalog, Deployer, ServedCertificateVerifier {
  private readonly deployers = new Map<string, { deploy(m: DeploymentMaterial): Promise<DeployResult> }>();

  constructor(
    private readonly config: ServicesConfig,
    private readonly pollMs = 250,
  ) {
    for (const [name, s] of config.services) {
      this.deployers.set(name, s.target.deployer === 'file' ? new FileDeployer(s.target) : new WebhookDeployer(s.target));
    }
  }

  names(): readonly string[] {
    return [...this.config.services.keys()];
  }

  hostNames(service: string): readonly string[] | null {
    return this.config.services.get(service.toUpperCase())?.hostNames ?? null;
  }

  target(service: string): ServiceTarget | null {
    return this.config.services.get(service.toUpperCase()) ?? null;
  }

  async deploy(m: DeploymentMaterial): Promise<DeployResult> {
    const d = this.deployers.get(m.service);
    if (!d) return { outcome: 'failed', code: 'UnknownService', reason: `${m.service} is not configured (CERTFLOW_CONFIG); nothing was deployed.`, stderr: null };
    return d.deploy(m);
  }

  /**
   * Connects to the configured verify target until it presents the expected certificate or the
   * verify timeout passes (servers reload asynchronously: postfix and nginx start new processes).
   */
  async verify(service: string, expectedThumbprint: string): Promise<VerifyResult> {
    const v = this.target(service)?.verify;
    if (!v) return { checked: false };
    const until = Date.now() + v.timeoutMs;
    let served: string | null = null;
    let reason: string | null = null;
    for (;;) {
      try {
        const leaf = await probeServedCertificate(v, Math.min(5_000, v.timeoutMs));
        served = leaf.thumbprint;
        reason = null;
        if (served === expectedThumbprint.toUpperCase()) return { checked: true, matches: true, servedThumbprint: served, reason: null };
      } catch (e) {
        reason = `${v.host}:${v.port} (${v.starttls === 'none' ? 'TLS' : `STARTTLS ${v.starttls}`}): ${(e as Error).message}`;
      }
      if (Date.now() + this.pollMs > until) break;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    return {
      checked: true,
      matches: false,
      servedThumbprint: served,
      reason: reason ?? `${v.host}:${v.port} presented ${served} instead of ${expectedThumbprint} after ${v.timeoutMs} ms`,
    };
  }
}

/** Private keys from the vault as PKCS#8 PEM, for deployers only. */
export class VaultPrivateKeys implements PrivateKeySource {
  constructor(private readonly vault: KeyVault) {}

  async privateKeyPem(keyId: string): Promise<string> {
    const stored = await this.vault.get(keyId);
    if (!stored) throw new Error(`key ${keyId} is missing from the key vault`);
    return createPrivateKey({ key: stored.pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  }
}
