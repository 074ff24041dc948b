import { deciderSpec } from '../../../testing/src/decider-spec';
import {
  EnablementCandidate,
  ServiceBindingCommand,
  ServiceBindingEvent,
  ServiceBindingState,
  decideServiceBinding,
  evolveServiceBinding,
  foldServiceBinding,
  serviceBindingStreamId,
  uncoveredHostNames,
} from './service-binding.decider';

// given / when / then -------------------------------------------------------------------------

const given = deciderSpec<ServiceBindingCommand, ServiceBindingEvent, ServiceBindingState>({
  decide: decideServiceBinding,
  evolve: evolveServiceBinding,
  initialState: () => foldServiceBinding([]),
  checkMessage: (message) => expect(message.trim().length).toBeGreaterThan(10),
});

// builders ------------------------------------------------------------------------------------

const NOW = '2026-11-23T12:00:00.000Z';
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const cert = (id: string, over: Partial<EnablementCandidate> = {}): EnablementCandidate => ({
  certificateId: id,
  thumbprint: id === A ? 'AAAA' : 'BBBB',
  notAfter: '2027-11-23T12:00:00.000Z',
  state: 'Issued',
  hasPrivateKey: true,
  certificateDomains: ['mail.contoso.com', '*.contoso.com'],
  ...over,
});
const enable = (id: string, over: { force?: boolean; hostNames?: string[]; certificate?: EnablementCandidate | null } = {}): ServiceBindingCommand => ({
  type: 'RequestServiceEnablement',
  data: {
    service: 'SMTP',
    certificateId: id,
    certificate: over.certificate === undefined ? cert(id) : over.certificate,
    hostNames: over.hostNames ?? ['mail.contoso.com'],
    force: over.force ?? false,
    now: NOW,
  },
  actor: 'alice',
});
const requested = (id: string, previous: string | null = null, force = false): ServiceBindingEvent => ({
  type: 'ServiceEnablementRequested',
  data: { service: 'SMTP', certificateId: id, thumbprint: cert(id).thumbprint, notAfter: cert(id).notAfter, previousCertificateId: previous, force, requestedBy: 'alice' },
});
const enabled = (id: string, previous: string | null = null): ServiceBindingEvent => ({
  type: 'ServiceCertificateEnabled',
  data: { service: 'SMTP', certificateId: id, thumbprint: cert(id).thumbprint, notAfter: cert(id).notAfter, previousCertificateId: previous, verified: true, servedThumbprint: cert(id).thumbprint },
});
const recordEnabled = (id: string, verified: boolean | null = true, served: string | null = cert(id).thumbprint): ServiceBindingCommand => ({
  type: 'RecordServiceEnabled',
  data: { certificateId: id, verified, servedThumbprint: served, verificationReason: null },
  actor: 'certflow-worker',
});

// ---------------------------------------------------------------------------------------------

describe('enabling a certificate for a service', () => {
  it('records a pending deployment for an unbound service', () => {
    const s = given([]).when(enable(A)).then([requested(A)]);
    expect(s).toMatchObject({ state: 'Unbound', pending: { certificateId: A, thumbprint: 'AAAA' } });
  });

  it('changes the binding only when the worker records the deployment', () => {
    const s = given([requested(A)]).when(recordEnabled(A)).then([enabled(A)]);
    expect(s).toMatchObject({ state: 'Bound', current: { certificateId: A }, verified: true, pending: null });
  });

  it('refuses to overwrite another certificate without force, naming its thumbprint and expiry', () => {
    const e = given([requested(A), enabled(A)]).when(enable(B)).thenRefused('ServiceAlreadyBound', 'conflict');
    expect(e.details).toEqual({ certificateId: A, thumbprint: 'AAAA', notAfter: cert(A).notAfter });
    expect(e.message).toMatch(/AAAA/);
  });

  it('overwrites with force, remembering the previous certificate', () => {
    given([requested(A), enabled(A)]).when(enable(B, { force: true })).then([requested(B, A, true)]);
    const s = given([requested(A), enabled(A), requested(B, A, true)]).when(recordEnabled(B)).then([enabled(B, A)]);
    expect(s).toMatchObject({ state: 'Bound', current: { certificateId: B } });
  });

  it('treats asking again for the enabled or pending certificate as a no-op', () => {
    given([requested(A), enabled(A)]).when(enable(A)).then([]);
    given([requested(A)]).when(enable(A)).then([]);
  });

  it('redeploys the enabled certificate when forced', () => {
    given([requested(A), enabled(A)]).when(enable(A, { force: true })).then([requested(A, A, true)]);
  });

  it('refuses a second certificate while another deployment is pending, unless forced', () => {
    given([requested(A)]).when(enable(B)).thenRefused('ServiceEnablementPending', 'conflict');
    given([requested(A)]).when(enable(B, { force: true })).then([requested(B, null, true)]);
  });

  it.each([
    ['a certificate that is not issued', cert(A, { state: 'RequestGenerated' }), 'CertificateNotIssued', 'conflict'],
    ['a certificate without its private key', cert(A, { hasPrivateKey: false }), 'NoPrivateKey', 'unprocessable'],
    ['an expired certificate', cert(A, { notAfter: '2026-01-01T00:00:00.000Z' }), 'CertificateExpired', 'conflict'],
    ['a certificate that does not exist', null, 'CertificateNotFound', 'not-found'],
  ] as const)('refuses %s', (_name, candidate, code, kind) => {
    given([]).when(enable(A, { certificate: candidate })).thenRefused(code, kind);
  });

  it('refuses a certificate that does not cover a configured host name, naming the name', () => {
    const e = given([]).when(enable(A, { hostNames: ['mail.contoso.com', 'smtp.fabrikam.com'] })).thenRefused('HostNameNotCovered', 'unprocessable');
    expect(e.message).toContain('smtp.fabrikam.com');
    expect(e.details).toEqual({ missing: ['smtp.fabrikam.com'] });
  });

  it('matches configured host names against wildcards for one label only', () => {
    expect(uncoveredHostNames(['imap.contoso.com', 'a.b.contoso.com', 'contoso.com'], ['*.contoso.com'])).toEqual(['a.b.contoso.com', 'contoso.com']);
  });

  it('refuses a malformed service name', () => {
    given([]).when({ ...enable(A), data: { ...(enable(A).data as object), service: 'smtp server' } } as ServiceBindingCommand).thenRefused('InvalidServiceName', 'invalid');
  });
});

describe('the outcome of a deployment', () => {
  it('records a failed deployment without changing the binding', () => {
    const s = given([requested(A), enabled(A), requested(B, A, true)])
      .when({ type: 'RecordServiceEnableFailed', data: { service: 'SMTP', certificateId: B, code: 'ReloadFailed', reason: 'postfix reload exited with 1', stderr: 'fatal' }, actor: 'certflow-worker' })
      .then([{ type: 'ServiceEnableFailed', data: { service: 'SMTP', certificateId: B, code: 'ReloadFailed', reason: 'postfix reload exited with 1', stderr: 'fatal' } }]);
    expect(s).toMatchObject({ state: 'Bound', current: { certificateId: A }, pending: null, lastError: { code: 'ReloadFailed' } });
  });

  it('records a verification mismatch as an error on the binding', () => {
    const s = given([requested(A)])
      .when(recordEnabled(A, false, 'CCCC'))
      .then([
        { ...enabled(A), data: { ...(enabled(A).data as object), verified: false, servedThumbprint: 'CCCC' } } as ServiceBindingEvent,
        {
          type: 'ServiceVerificationFailed',
          data: { service: 'SMTP', certificateId: A, expectedThumbprint: 'AAAA', servedThumbprint: 'CCCC', reason: 'the server presented CCCC instead of AAAA' },
        },
      ]);
    expect(s).toMatchObject({ state: 'Bound', verified: false, lastError: { code: 'VerificationFailed' } });
  });

  it('refuses to record an outcome for a deployment that is no longer pending', () => {
    given([requested(A), enabled(A)]).when(recordEnabled(A)).thenRefused('NoPendingEnablement', 'conflict');
    given([requested(A), requested(B, null, true)]).when(recordEnabled(A)).thenRefused('NoPendingEnablement', 'conflict');
  });
});

describe('releasing a service', () => {
  it('unbinds the service and keeps the history', () => {
    const s = given([requested(A), enabled(A)])
      .when({ type: 'ReleaseService', data: { service: 'SMTP', reason: 'moved' }, actor: 'bob' })
      .then([{ type: 'ServiceCertificateReleased', data: { service: 'SMTP', certificateId: A, releasedBy: 'bob', reason: 'moved' } }]);
    expect(s.state).toBe('Unbound');
  });

  it('refuses to release an unbound service', () => {
    given([]).when({ type: 'ReleaseService', data: { service: 'SMTP', reason: null }, actor: 'bob' }).thenRefused('ServiceNotBound', 'conflict');
  });
});

it('names streams by the upper-case service', () => {
  expect(serviceBindingStreamId('smtp')).toBe('binding-SMTP');
});
