import { ChainEvaluation } from '../../../libs/crypto/src';
import { ExistingCertificateState, certificateStatus, IN_FLIGHT_STATES, autoRenewOf } from '../../../libs/domain/src';

export interface Presented {
  [key: string]: unknown;
}

/**
 * A certificate as Get-ExchangeCertificate shows it, in camelCase, from the evolved aggregate.
 * `status` is computed here against `now` (the request time, or the `?at=` instant).
 */
export function presentCertificate(
  s: ExistingCertificateState,
  meta: { createdAt: string; updatedAt: string; version: number },
  now: Date,
  evaluation: ChainEvaluation | null = null,
  /** The services this certificate is enabled for (from the service bindings, at `now`). */
  services: readonly string[] = [],
): Presented {
  const cert = 'certificate' in s && s.certificate ? s.certificate : null;
  const key = s.request.key;
  const { status, reasons } = certificateStatus(
    {
      state: s.state,
      notBefore: cert?.notBefore ?? null,
      notAfter: cert?.notAfter ?? null,
      isSelfSigned: cert?.isSelfSigned ?? null,
      signatureValid: evaluation?.signatureValid ?? null,
      chainTrusted: evaluation?.chainTrusted ?? null,
      revocationReason: s.state === 'Revoked' ? s.revocationReason : null,
      caProblems: evaluation?.caProblems ?? [],
      revocation: evaluation?.revocation ?? null,
      revocationDetail: evaluation?.revocationDetail ?? null,
    },
    now,
  );
  const pending = (IN_FLIGHT_STATES as readonly string[]).includes(s.state);
  return {
    id: s.certificateId,
    state: s.state,
    status,
    statusReasons: reasons,
    provider: s.request.provider,
    thumbprint: cert?.thumbprint ?? null,
    sha256Fingerprint: cert?.sha256Fingerprint ?? null,
    subject: cert?.subject ?? s.request.subject ?? `CN=${s.request.domainNames[0]}`,
    issuer: cert?.issuer ?? null,
    certificateDomains: cert?.certificateDomains ?? [],
    domainNames: s.request.domainNames,
    notBefore: cert?.notBefore ?? null,
    notAfter: cert?.notAfter ?? null,
    serialNumber: cert?.serialNumber ?? null,
    publicKeySize: cert?.publicKeySize ?? (key.algorithm === 'RSA' ? key.size : key.curve === 'P-256' ? 256 : 384),
    keyAlgorithm: cert?.keyAlgorithm ?? key.algorithm,
    hasPrivateKey: 'keyId' in s && !!s.keyId,
    privateKeyExportable: s.request.privateKeyExportable,
    isSelfSigned: cert?.isSelfSigned ?? null,
    rootCAType: cert ? (evaluation?.rootCAType ?? (cert.isSelfSigned ? 'None' : 'Unknown')) : null,
    enhancedKeyUsage: evaluation?.enhancedKeyUsage ?? null,
    chainLength: evaluation ? evaluation.path.length : null,
    friendlyName: s.request.friendlyName,
    // Derived from the service bindings: the services whose current certificate this is.
    services: [...services],
    requestedServices: s.request.requestedServices,
    requestedBy: s.requestedBy,
    certificateRequest: pending && 'csrPem' in s && s.csrPem ? s.csrPem : null,
    pendingSince: pending ? meta.createdAt : null,
    attempts: s.failedAttempts,
    lastError: s.lastError,
    nextAttemptAt: pending ? (s.nextAttemptAt ?? null) : null,
    orderId: 'orderId' in s ? s.orderId : null,
    orderStatus: s.state === 'Submitted' ? (s.orderStatus ?? null) : null,
    ...(s.state === 'AwaitingApproval'
      ? { approvals: s.approvals, approvalsRequired: s.approvalsRequired, approvalExpiresAt: s.expiresAt ?? null, remindersSent: s.remindersSent ?? 0 }
      : {}),
    nextAction: nextAction(s),
    ...(s.state === 'Rejected' || s.state === 'Failed' ? { reason: s.reason } : {}),
    ...(s.state === 'Revoked' ? { revocationReason: s.revocationReason } : {}),
    ...(s.state === 'Superseded' ? { supersededBy: s.supersededBy } : {}),
    // Renewal links (issue 6): `renews` on the new certificate, `renewedBy` on the old one (in flight or done).
    ...(s.request.renews ? { renews: s.request.renews } : {}),
    ...(s.state === 'Issued' && s.renewedBy ? { renewedBy: s.renewedBy } : s.state === 'Superseded' ? { renewedBy: s.supersededBy } : {}),
    ...(s.state === 'Issued' && s.lastReminderThreshold != null ? { lastReminderThreshold: s.lastReminderThreshold } : {}),
    // The certificate's own renewal settings (null: it follows the fleet-wide default, GET /settings/renewal).
    renewal: {
      autoRenew: autoRenewOf(s.request),
      renewBeforeMs: s.request.renewBeforeMs ?? null,
      renewBeforePercentage: s.request.renewBeforePercentage ?? null,
      reminderThresholds: s.request.reminderThresholds ?? null,
      contact: s.request.contact ?? null,
      ...(s.state === 'Issued' && s.renewalInfo ? { renewalInfo: s.renewalInfo } : {}),
    },
    ...(s.state === 'RequestGenerated' && s.importRemindersSent ? { importRemindersSent: s.importRemindersSent } : {}),
    createdAt: meta.createdAt,
    updatedAt: meta.updatedAt,
    version: meta.version,
  };
}

/** Who must act next, in words an administrator can act on. */
function nextAction(s: ExistingCertificateState): { by: string; action: string } | null {
  switch (s.state) {
    case 'Requested':
      return { by: 'certflow', action: 'generate the key pair and the certificate request' };
    case 'RequestGenerated':
      return s.request.provider === 'manual'
        ? { by: 'operator', action: 'submit the CSR (GET .../csr) to the CA, then import the issued certificate (POST .../import)' }
        : { by: 'certflow', action: `submit the request to ${s.request.provider}` };
    case 'Submitted':
      return { by: 'ca', action: `wait for ${s.request.provider} to issue${s.orderStatus ? ` (order ${s.orderStatus})` : ''}` };
    case 'AwaitingApproval':
      return { by: 'approver', action: `approve or reject (${s.approvals.length} of ${s.approvalsRequired} approvals; not the requester ${s.requestedBy})` };
    default:
      return null;
  }
}
