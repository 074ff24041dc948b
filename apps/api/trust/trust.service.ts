import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { rootCertificates } from 'node:tls';
import { Pool } from 'pg';
import { ChainEvaluation, HttpCrlSource, TrustAnchorInput, TrustAnchors, evaluateChain } from '../../../libs/crypto/src';
import { Clock } from '../../../libs/application/src';
import { CLOCK, PG_POOL } from '../common/tokens';

/**
 * The trust store as the status computation sees it: the Mozilla roots that ship with Node
 * (RootCAType ThirdParty) plus the roots operators added (Registry). Rebuilt when the
 * registry changes; chain evaluations are cached briefly per certificate and trust store.
 */
@Injectable()
export class TrustService implements OnApplicationBootstrap {
  private mozilla: TrustAnchors | null = null;
  private anchors: { key: string; anchors: TrustAnchors; checkedAt: number } | null = null;
  private readonly evaluations = new Map<string, { at: number; result: ChainEvaluation }>();
  private readonly crls = new HttpCrlSource();
  static readonly EVALUATION_TTL_MS = 30_000;
  static readonly REGISTRY_CHECK_MS = 1_000;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Parse the anchors at start, not on the first request. */
  async onApplicationBootstrap(): Promise<void> {
    await this.current();
  }

  async current(): Promise<{ key: string; anchors: TrustAnchors }> {
    if (this.anchors && Date.now() - this.anchors.checkedAt < TrustService.REGISTRY_CHECK_MS) return this.anchors;
    const { rows } = await this.pool.query<{ sha256_fingerprint: string; certificate_pem: string }>(
      'SELECT sha256_fingerprint, certificate_pem FROM trusted_roots ORDER BY sha256_fingerprint',
    );
    // certflow's own CA root counts as trusted too (RootCAType Internal).
    const internal = await this.pool.query<{ root_pem: string }>('SELECT root_pem FROM internal_ca');
    const key = [...rows.map((r) => r.sha256_fingerprint), internal.rows[0] ? `internal:${internal.rows[0].root_pem.length}` : ''].join(',');
    if (!this.anchors || this.anchors.key !== key) {
      this.anchors = {
        key,
        anchors: this.thirdParty().extend([
          ...rows.map((r) => ({ pem: r.certificate_pem, source: 'Registry' as const })),
          ...internal.rows.map((r) => ({ pem: r.root_pem, source: 'Internal' as const })),
        ]),
        checkedAt: Date.now(),
      };
      this.evaluations.clear();
    } else {
      this.anchors.checkedAt = Date.now();
    }
    return this.anchors;
  }

  /** Node's Mozilla roots, parsed once per process. */
  private thirdParty(): TrustAnchors {
    this.mozilla ??= new TrustAnchors(rootCertificates.map((pem): TrustAnchorInput => ({ pem, source: 'ThirdParty' })));
    return this.mozilla;
  }

  /** Evaluates the certificate's chain now (or at `at`, for point-in-time reads: no cache then). */
  async evaluate(thumbprint: string, certificatePem: string, chainPem: readonly string[], at?: Date): Promise<ChainEvaluation> {
    const { key, anchors } = await this.current();
    const cacheKey = `${thumbprint}|${chainPem.length}|${key}`;
    const hit = at ? undefined : this.evaluations.get(cacheKey);
    if (hit && Date.now() - hit.at < TrustService.EVALUATION_TTL_MS) return hit.result;
    let result = await evaluateChain(certificatePem, chainPem, anchors, at ?? this.clock.now(), this.crls);
    // Untrusted may only mean that a root arrived since the last look (an operator's root, or the
    // internal CA created a moment ago by a worker): look again at once rather than within a second.
    if (!result.chainTrusted && !result.isSelfSigned && this.anchors && Date.now() - this.anchors.checkedAt > 100) {
      this.anchors.checkedAt = 0;
      const fresh = await this.current();
      if (fresh.key !== key) return this.evaluate(thumbprint, certificatePem, chainPem, at);
    }
    if (!at) {
      if (this.evaluations.size > 20_000) this.evaluations.clear();
      this.evaluations.set(cacheKey, { at: Date.now(), result });
    }
    return result;
  }

  /** Called after a trust change so that the next read sees it at once. */
  invalidate(): void {
    this.anchors = null;
    this.evaluations.clear();
  }
}
