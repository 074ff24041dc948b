import { IssueContext, IssueOutcome, Issuer } from '../../../application/src';
import { signCertificateRequest } from '../../../crypto/src';
import { InternalCaPolicy, internalCaPolicyViolation } from '../../../domain/src';
import { InternalCaStore } from './internal-ca.store';

/**
 * certflow's own CA. Checks the issuance policy, asks for approval when the policy requires it
 * (as a CA manager approves pending requests on an enterprise CA), then signs with the issuing
 * intermediate. Certificates name the CRL at `<publicUrl>/ca/internal/crl` and the issuer at
 * `<publicUrl>/ca/internal/intermediate.crt`.
 */
export class InternalCaIssuer implements Issuer {
  readonly provider = 'internal-ca' as const;

  constructor(
    private readonly ca: InternalCaStore,
    private readonly policy: InternalCaPolicy,
    private readonly publicUrl: string,
  ) {}

  async issue(ctx: IssueContext): Promise<IssueOutcome> {
    const violation = internalCaPolicyViolation(this.policy, ctx.request);
    if (violation) return { kind: 'rejected', reason: violation };
    if (ctx.approvals.length < this.policy.approvalsRequired) {
      return { kind: 'approval-required', approvalsRequired: this.policy.approvalsRequired };
    }
    const ca = await this.ca.get();
    const days = Math.min(ctx.request.validityDays ?? this.policy.maxValidityDays, this.policy.maxValidityDays);
    const notBefore = new Date(Math.floor(ctx.now.getTime() / 1000) * 1000);
    const certificatePem = await signCertificateRequest({
      csrPem: ctx.csrPem,
      domainNames: ctx.request.domainNames,
      keyAlgorithm: ctx.request.key.algorithm,
      issuerPem: ca.intermediatePem,
      issuerKeys: ca.issuer.keys,
      issuerSpec: ca.issuer.spec,
      notBefore,
      notAfter: new Date(notBefore.getTime() + days * 86_400_000),
      crlUrl: `${this.publicUrl}/ca/internal/crl`,
      caIssuersUrl: `${this.publicUrl}/ca/internal/intermediate.crt`,
    });
    const chainPem = ca.intermediatePem === ca.rootPem ? [] : [ca.intermediatePem];
    return { kind: 'issued', certificatePem, chainPem };
  }
}
