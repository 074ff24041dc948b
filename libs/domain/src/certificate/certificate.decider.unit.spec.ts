import { aRequestCommand, aRequestSpec, someIssuedFacts } from '../../../testing/src/builders';
import { deciderSpec } from '../../../testing/src/decider-spec';
import { DomainError } from '../domain-error';
import {
  CertificateCommand,
  CertificateState,
  decide,
  evolve,
  foldCertificate,
  IN_FLIGHT_STATES,
  initialCertificateState,
  isInFlight,
  LifecycleState,
  LIFECYCLE_STATES,
} from './certificate.decider';
import { CertificateEvent, CertificateRequestSpec, KeySpec, ProviderName, RevocationReason } from './certificate.events';

// ---------------------------------------------------------------------------------------------
// given / when / then
// ---------------------------------------------------------------------------------------------

type CommandType = CertificateCommand['type'];

const given = deciderSpec<CertificateCommand, CertificateEvent, CertificateState>({
  decide,
  evolve,
  initialState: initialCertificateState,
  checkMessage: (message) => expectReadableSentence(message),
});

/** A message written for an administrator: a non-empty sentence, not a bare code. */
function expectReadableSentence(message: string): void {
  expect(typeof message).toBe('string');
  expect(message.trim().length).toBeGreaterThan(10);
  expect(message).toMatch(/\s/); // more than one word
  expect(message).toMatch(/[.!?]$/); // ends like a sentence
  expect(message).not.toMatch(/undefined|\[object Object\]/);
}

// ---------------------------------------------------------------------------------------------
// fixtures: events and commands
// ---------------------------------------------------------------------------------------------

const ID = 'c0ffee00-0000-4000-8000-000000000001';
const OTHER_ID = 'c0ffee00-0000-4000-8000-000000000002';
const REQUESTER = 'alice';
const WORKER = 'certflow-worker';
const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIBfake\n-----END CERTIFICATE REQUEST-----\n';
const ISSUED = someIssuedFacts();

const requested = (spec: Partial<CertificateRequestSpec> = {}, requestedBy = REQUESTER): CertificateEvent => ({
  type: 'CertificateRequested',
  data: { ...aRequestSpec(spec), certificateId: ID, requestedBy },
});
const generated: CertificateEvent = { type: 'CertificateRequestGenerated', data: { keyId: ID, csrPem: CSR } };
const submitted = (orderId: string | null = 'order-1'): CertificateEvent => ({
  type: 'CertificateRequestSubmitted',
  data: { provider: 'self-signed', orderId },
});
const APPROVAL_POLICY = { expiresAt: '2026-01-15T00:00:00.000Z', remindEveryHours: 24 };
const approvalRequested = (approvalsRequired = 1): CertificateEvent => ({
  type: 'CertificateApprovalRequested',
  data: { approvalsRequired, ...APPROVAL_POLICY },
});
const approved = (approvedBy: string, comment: string | null = null): CertificateEvent => ({
  type: 'CertificateRequestApproved',
  data: { approvedBy, comment },
});
const issued: CertificateEvent = { type: 'CertificateIssued', data: ISSUED };
const stepFailed = (attempt: number, step = 'generate-request', reason = 'vault unavailable'): CertificateEvent => ({
  type: 'CertificateStepFailed',
  data: { step, reason, attempt, nextAttemptAt: '2026-01-01T00:00:30.000Z' },
});
const failed: CertificateEvent = { type: 'CertificateRequestFailed', data: { step: 'issue', reason: 'CSR refused' } };
const rejected: CertificateEvent = { type: 'CertificateRequestRejected', data: { reason: 'not our domain', rejectedBy: 'bob' } };
const revoked: CertificateEvent = { type: 'CertificateRevoked', data: { reason: 'keyCompromise', revokedBy: 'bob' } };
const superseded: CertificateEvent = { type: 'CertificateSuperseded', data: { supersededBy: OTHER_ID } };
const removed: CertificateEvent = { type: 'CertificateRemoved', data: { removedBy: 'bob', reason: null } };

/** One shortest history that leads to each lifecycle state. */
const HISTORY: Record<LifecycleState, readonly CertificateEvent[]> = {
  Requested: [requested()],
  RequestGenerated: [requested(), generated],
  Submitted: [requested(), generated, submitted()],
  AwaitingApproval: [requested(), generated, submitted(), approvalRequested(1)],
  Issued: [requested(), generated, issued],
  Rejected: [requested(), generated, rejected],
  Failed: [requested(), failed],
  Revoked: [requested(), generated, issued, revoked],
  Superseded: [requested(), generated, issued, superseded],
  Removed: [requested(), removed],
};

/** A well-formed command of each type (what would succeed from a state that allows it). */
const COMMAND: Record<CommandType, CertificateCommand> = {
  RequestCertificate: aRequestCommand(ID),
  RecordRequestGenerated: { type: 'RecordRequestGenerated', data: { keyId: ID, csrPem: CSR }, actor: WORKER },
  SubmitRequest: { type: 'SubmitRequest', data: { orderId: 'order-1' }, actor: WORKER },
  RequireApproval: { type: 'RequireApproval', data: { approvalsRequired: 1, ...APPROVAL_POLICY }, actor: WORKER },
  ApproveRequest: { type: 'ApproveRequest', data: { comment: 'ok' }, actor: 'bob' },
  RecordIssued: { type: 'RecordIssued', data: ISSUED, actor: WORKER },
  RecordStepFailure: {
    type: 'RecordStepFailure',
    data: { step: 'issue', reason: 'CA timed out', nextAttemptAt: '2026-01-01T00:01:00.000Z' },
    actor: WORKER,
  },
  FailRequest: { type: 'FailRequest', data: { step: 'issue', reason: 'CSR refused by the CA' }, actor: WORKER },
  RejectRequest: { type: 'RejectRequest', data: { reason: 'not an approved domain' }, actor: 'carol' },
  RevokeCertificate: { type: 'RevokeCertificate', data: { reason: 'superseded' }, actor: 'bob' },
  SupersedeCertificate: { type: 'SupersedeCertificate', data: { supersededBy: OTHER_ID }, actor: WORKER },
  RemoveCertificate: { type: 'RemoveCertificate', data: { reason: 'server decommissioned' }, actor: 'bob' },
  RequestRenewal: { type: 'RequestRenewal', data: { renewalId: OTHER_ID, reuseKey: false, automatic: false }, actor: 'bob' },
  RecordRenewalFailure: {
    type: 'RecordRenewalFailure',
    data: { renewalId: OTHER_ID, reason: 'the renewal was rejected', nextAttemptAt: '2026-01-01T01:00:00.000Z' },
    actor: WORKER,
  },
  RecordRenewalReminder: {
    type: 'RecordRenewalReminder',
    data: { threshold: 30, daysLeft: 30, catchUp: false, channels: ['log'], deliveries: [{ channel: 'log', ok: true, attempts: 1, detail: 'logged' }] },
    actor: WORKER,
  },
  ImportIssuedCertificate: {
    type: 'ImportIssuedCertificate',
    data: { ...ISSUED, format: 'pkcs7-pem', warnings: [] },
    actor: 'bob',
  },
  ExportCertificate: { type: 'ExportCertificate', data: { format: 'pfx', includesKey: false, legacy: false }, actor: 'bob' },
  RecordOrderPolled: { type: 'RecordOrderPolled', data: { status: 'processing', nextAttemptAt: '2026-01-01T00:00:05.000Z' }, actor: WORKER },
  RecordApprovalReminder: { type: 'RecordApprovalReminder', data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', approvalsMissing: 1 }, actor: WORKER },
  ImportExternalCertificate: {
    type: 'ImportExternalCertificate',
    data: { ...ISSUED, certificateId: ID, format: 'pkcs12', keyId: ID, privateKeyExportable: true, friendlyName: 'old server' },
    actor: 'bob',
  },
  RecordImportReminder: {
    type: 'RecordImportReminder',
    data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', channels: ['log'], deliveries: [{ channel: 'log', ok: true, attempts: 1, detail: 'logged' }] },
    actor: WORKER,
  },
  RecordRenewalInfo: {
    type: 'RecordRenewalInfo',
    data: {
      window: { start: '2026-01-20T00:00:00.000Z', end: '2026-01-22T00:00:00.000Z' },
      renewAt: '2026-01-21T03:00:00.000Z',
      explanationUrl: null,
      nextCheckAt: '2026-01-01T06:00:00.000Z',
      error: null,
    },
    actor: WORKER,
  },
};
const COMMAND_TYPES = Object.keys(COMMAND) as CommandType[];

/** The shortest history from which a command succeeds: HISTORY, except for provider-specific commands. */
const historyFor = (type: CommandType, state: LifecycleState): readonly CertificateEvent[] => {
  if (type === 'RecordImportReminder' && state === 'RequestGenerated') return [requested({ provider: 'manual' }), generated];
  if (type === 'RecordRenewalInfo' && state === 'Issued') return [requested({ provider: 'acme' }), generated, issued];
  return HISTORY[state];
};

const approve = (actor: string, comment: string | null = null): CertificateCommand => ({
  type: 'ApproveRequest',
  data: { comment },
  actor,
});
const reject = (reason: string, actor = 'carol'): CertificateCommand => ({ type: 'RejectRequest', data: { reason }, actor });
const requireApproval = (approvalsRequired: number): CertificateCommand => ({
  type: 'RequireApproval',
  data: { approvalsRequired, ...APPROVAL_POLICY },
  actor: WORKER,
});
const revoke = (reason: RevocationReason): CertificateCommand => ({ type: 'RevokeCertificate', data: { reason }, actor: 'bob' });
const supersedeBy = (supersededBy: string): CertificateCommand => ({
  type: 'SupersedeCertificate',
  data: { supersededBy },
  actor: WORKER,
});
const remove = (reason: string | null = null): CertificateCommand => ({ type: 'RemoveCertificate', data: { reason }, actor: 'bob' });

/** The states from which each command (other than RequestCertificate) is allowed. */
const ALLOWED: Record<Exclude<CommandType, 'RequestCertificate' | 'ImportExternalCertificate'>, readonly LifecycleState[]> = {
  ImportIssuedCertificate: ['RequestGenerated', 'Submitted'],
  ExportCertificate: ['Issued', 'Revoked', 'Superseded'],
  RecordOrderPolled: ['Submitted'],
  RecordApprovalReminder: ['AwaitingApproval'],
  RecordRequestGenerated: ['Requested'],
  SubmitRequest: ['RequestGenerated'],
  RequireApproval: ['Submitted'],
  ApproveRequest: ['AwaitingApproval'],
  RecordIssued: ['RequestGenerated', 'Submitted'],
  RecordStepFailure: ['Requested', 'RequestGenerated', 'Submitted', 'AwaitingApproval'],
  FailRequest: ['Requested', 'RequestGenerated', 'Submitted', 'AwaitingApproval'],
  RejectRequest: ['RequestGenerated', 'Submitted', 'AwaitingApproval'],
  RevokeCertificate: ['Issued', 'Superseded'],
  SupersedeCertificate: ['Issued'],
  RequestRenewal: ['Issued'],
  RecordRenewalFailure: ['Issued'],
  RecordRenewalReminder: ['Issued'],
  RecordImportReminder: ['RequestGenerated'],
  RecordRenewalInfo: ['Issued'],
  RemoveCertificate: LIFECYCLE_STATES.filter((s) => s !== 'Removed'),
};

// ---------------------------------------------------------------------------------------------

describe('certificate decider', () => {
  describe('fixtures', () => {
    it.each(LIFECYCLE_STATES.map((s) => [s]))('the %s history folds to that state', (state) => {
      expect(foldCertificate(HISTORY[state]).state).toBe(state);
    });

    it('an empty history is the Initial state', () => {
      expect(foldCertificate([])).toEqual(initialCertificateState());
      expect(initialCertificateState()).toEqual({ state: 'Initial' });
    });

    it('in-flight states are exactly the ones where work is outstanding', () => {
      expect([...IN_FLIGHT_STATES]).toEqual(['Requested', 'RequestGenerated', 'Submitted', 'AwaitingApproval']);
      for (const s of LIFECYCLE_STATES) expect(isInFlight(s)).toBe(IN_FLIGHT_STATES.includes(s));
      expect(isInFlight('Initial')).toBe(false);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('RequestCertificate', () => {
    it('a new certificate is requested with lower-cased domain names, and the requester is recorded', () => {
      const command = aRequestCommand(ID, { domainNames: ['Server1.FourthCoffee.com', 'SERVER1'] }, 'alice');
      const after = given([]).when(command).then([
        {
          type: 'CertificateRequested',
          data: {
            ...aRequestSpec({ domainNames: ['server1.fourthcoffee.com', 'server1'] }),
            certificateId: ID,
            requestedBy: 'alice',
          },
        },
      ]);
      expect(after).toEqual({
        state: 'Requested',
        certificateId: ID,
        requestedBy: 'alice',
        request: aRequestSpec({ domainNames: ['server1.fourthcoffee.com', 'server1'] }),
        failedAttempts: 0,
        lastError: null,
      });
    });

    it.each<[string, Partial<CertificateRequestSpec>]>([
      ['the self-signed provider', { provider: 'self-signed' }],
      ['the manual provider', { provider: 'manual' }],
      ['the internal-ca provider', { provider: 'internal-ca' }],
      ['the acme provider', { provider: 'acme' }],
      ['an RSA 3072 key', { key: { algorithm: 'RSA', size: 3072 } }],
      ['an RSA 4096 key', { key: { algorithm: 'RSA', size: 4096 } }],
      ['an ECDSA P-256 key', { key: { algorithm: 'ECDSA', curve: 'P-256' } }],
      ['an ECDSA P-384 key', { key: { algorithm: 'ECDSA', curve: 'P-384' } }],
      ['a validity of 1 day', { validityDays: 1 }],
      ['a validity of 3650 days', { validityDays: 3650 }],
      ['the provider default validity', { validityDays: null }],
      ['a wildcard name', { domainNames: ['*.contoso.com'] }],
      ['a punycode name', { domainNames: ['xn--bcher-kva.example'] }],
      ['an explicit subject and a friendly name', { subject: 'CN=mail.contoso.com, O=Contoso', friendlyName: 'Mail 2026' }],
    ])('a request with %s is accepted', (_name, overrides) => {
      const after = given([]).when(aRequestCommand(ID, overrides)).then([
        { type: 'CertificateRequested', data: { ...aRequestSpec(overrides), certificateId: ID, requestedBy: 'alice' } },
      ]);
      expect(after.state).toBe('Requested');
    });

    it.each(LIFECYCLE_STATES.map((s) => [s]))('requesting an id that already exists (%s) is refused', (state) => {
      given(HISTORY[state]).when(aRequestCommand(ID)).thenRefused('CertificateAlreadyExists', 'conflict');
    });

    it('an unknown provider is refused and named in the message', () => {
      const error = given([])
        .when(aRequestCommand(ID, { provider: 'verisign' as ProviderName }))
        .thenRefused('UnknownProvider', 'invalid');
      expect(error.message).toContain('"verisign"');
      for (const p of ['self-signed', 'manual', 'internal-ca', 'acme']) expect(error.message).toContain(p);
    });

    it.each<[string, string[]]>([
      ['a wildcard that is not the leftmost label', ['a.*.contoso.com']],
      ['a wildcard directly under a top-level domain', ['*.com']],
      ['a partial wildcard label', ['foo*.contoso.com']],
      ['a label that starts with a hyphen', ['-bad.contoso.com']],
      ['an empty label', ['a..b']],
      ['a label of 64 characters', [`${'a'.repeat(64)}.contoso.com`]],
      ['white space around a name', [' mail.contoso.com']],
      ['an empty name', ['']],
      ['one bad name among good ones', ['mail.contoso.com', 'bad_name.contoso.com', 'autodiscover.contoso.com']],
    ])('a request with %s is refused with the invalid names listed', (_name, domainNames) => {
      const error = given([]).when(aRequestCommand(ID, { domainNames })).thenRefused('InvalidDomainName', 'invalid');
      const invalid = domainNames.filter((n) => !['mail.contoso.com', 'autodiscover.contoso.com'].includes(n));
      expect(error.details).toEqual({ invalid });
      for (const n of invalid) expect(error.message).toContain(`"${n}"`);
    });

    it('a request without domain names is refused', () => {
      given([]).when(aRequestCommand(ID, { domainNames: [] })).thenRefused('DomainNamesRequired', 'invalid');
    });

    it('a request listing the same name twice (in any case) is refused', () => {
      const error = given([])
        .when(aRequestCommand(ID, { domainNames: ['mail.contoso.com', 'MAIL.contoso.com'] }))
        .thenRefused('DuplicateDomainName', 'invalid');
      expect(error.message).toContain('mail.contoso.com');
    });

    it('a request with more than 100 names is refused', () => {
      const domainNames = Array.from({ length: 101 }, (_, i) => `host${i}.contoso.com`);
      given([]).when(aRequestCommand(ID, { domainNames })).thenRefused('TooManyDomainNames', 'invalid');
    });

    it.each<[string, KeySpec, string]>([
      ['an RSA 1024 key', { algorithm: 'RSA', size: 1024 } as unknown as KeySpec, 'WeakKeyRefused'],
      ['an RSA 8192 key', { algorithm: 'RSA', size: 8192 } as unknown as KeySpec, 'UnsupportedKeySize'],
      ['an RSA 2047 key', { algorithm: 'RSA', size: 2047 } as unknown as KeySpec, 'UnsupportedKeySize'],
      ['an ECDSA P-521 key', { algorithm: 'ECDSA', curve: 'P-521' } as unknown as KeySpec, 'UnsupportedCurve'],
      ['an ECDSA secp256k1 key', { algorithm: 'ECDSA', curve: 'secp256k1' } as unknown as KeySpec, 'UnsupportedCurve'],
      ['a DSA key', { algorithm: 'DSA', size: 2048 } as unknown as KeySpec, 'UnsupportedKeyAlgorithm'],
    ])('a request for %s is refused', (_name, key, code) => {
      given([]).when(aRequestCommand(ID, { key })).thenRefused(code, 'invalid');
    });

    it.each<[string, number]>([
      ['zero days', 0],
      ['a negative number of days', -30],
      ['more than ten years', 3651],
      ['a fractional number of days', 1.5],
      ['NaN days', Number.NaN],
      ['infinitely many days', Number.POSITIVE_INFINITY],
    ])('a validity of %s is refused', (_name, validityDays) => {
      given([]).when(aRequestCommand(ID, { validityDays })).thenRefused('InvalidValidity', 'invalid');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('transitions that succeed', () => {
    interface Transition {
      name: string;
      from: LifecycleState;
      history: readonly CertificateEvent[];
      command: CertificateCommand;
      events: CertificateEvent[];
      after: Record<string, unknown>;
    }

    const transitions: Transition[] = [
      {
        name: 'a generated key and CSR move a Requested certificate to RequestGenerated',
        from: 'Requested',
        history: HISTORY.Requested,
        command: COMMAND.RecordRequestGenerated,
        events: [{ type: 'CertificateRequestGenerated', data: { keyId: ID, csrPem: CSR } }],
        after: { state: 'RequestGenerated', keyId: ID, csrPem: CSR, failedAttempts: 0, lastError: null },
      },
      {
        name: 'submitting a generated request to its provider moves it to Submitted',
        from: 'RequestGenerated',
        history: HISTORY.RequestGenerated,
        command: COMMAND.SubmitRequest,
        events: [{ type: 'CertificateRequestSubmitted', data: { provider: 'self-signed', orderId: 'order-1' } }],
        after: { state: 'Submitted', orderId: 'order-1', approvals: [], keyId: ID, csrPem: CSR },
      },
      {
        name: 'an approval requirement moves a Submitted certificate to AwaitingApproval',
        from: 'Submitted',
        history: HISTORY.Submitted,
        command: requireApproval(2),
        events: [{ type: 'CertificateApprovalRequested', data: { approvalsRequired: 2, ...APPROVAL_POLICY } }],
        after: { state: 'AwaitingApproval', approvalsRequired: 2, approvals: [], orderId: 'order-1', keyId: ID },
      },
      {
        name: 'a single required approval moves the request back to Submitted',
        from: 'AwaitingApproval',
        history: HISTORY.AwaitingApproval,
        command: approve('bob', 'looks right'),
        events: [{ type: 'CertificateRequestApproved', data: { approvedBy: 'bob', comment: 'looks right' } }],
        after: { state: 'Submitted', approvals: ['bob'], orderId: 'order-1', keyId: ID },
      },
      {
        name: 'an issued certificate for a generated request (self-signed, manual import) moves it to Issued',
        from: 'RequestGenerated',
        history: HISTORY.RequestGenerated,
        command: COMMAND.RecordIssued,
        events: [{ type: 'CertificateIssued', data: ISSUED }],
        after: { state: 'Issued', certificate: ISSUED, keyId: ID, csrPem: CSR },
      },
      {
        name: 'an issued certificate for a submitted request moves it to Issued',
        from: 'Submitted',
        history: HISTORY.Submitted,
        command: COMMAND.RecordIssued,
        events: [{ type: 'CertificateIssued', data: ISSUED }],
        after: { state: 'Issued', certificate: ISSUED, keyId: ID },
      },
      ...ALLOWED.RecordStepFailure.map(
        (from): Transition => ({
          name: `a transient failure while ${from} is recorded as attempt 1 and keeps the state`,
          from,
          history: HISTORY[from],
          command: COMMAND.RecordStepFailure,
          events: [
            {
              type: 'CertificateStepFailed',
              data: { step: 'issue', reason: 'CA timed out', attempt: 1, nextAttemptAt: '2026-01-01T00:01:00.000Z' },
            },
          ],
          after: { state: from, failedAttempts: 1, lastError: 'CA timed out' },
        }),
      ),
      ...ALLOWED.FailRequest.map(
        (from): Transition => ({
          name: `a permanent failure while ${from} moves the certificate to Failed`,
          from,
          history: HISTORY[from],
          command: COMMAND.FailRequest,
          events: [{ type: 'CertificateRequestFailed', data: { step: 'issue', reason: 'CSR refused by the CA' } }],
          after: { state: 'Failed', reason: 'CSR refused by the CA', lastError: 'CSR refused by the CA' },
        }),
      ),
      ...ALLOWED.RejectRequest.map(
        (from): Transition => ({
          name: `a rejection while ${from} moves the certificate to Rejected and records who rejected it`,
          from,
          history: HISTORY[from],
          command: COMMAND.RejectRequest,
          events: [{ type: 'CertificateRequestRejected', data: { reason: 'not an approved domain', rejectedBy: 'carol' } }],
          after: { state: 'Rejected', reason: 'not an approved domain', keyId: ID },
        }),
      ),
      ...ALLOWED.RevokeCertificate.map(
        (from): Transition => ({
          name: `revoking a certificate that is ${from} moves it to Revoked and keeps the certificate`,
          from,
          history: HISTORY[from],
          command: revoke('superseded'),
          events: [{ type: 'CertificateRevoked', data: { reason: 'superseded', revokedBy: 'bob' } }],
          after: { state: 'Revoked', revocationReason: 'superseded', certificate: ISSUED },
        }),
      ),
      {
        name: 'a renewal supersedes an Issued certificate and keeps the certificate',
        from: 'Issued',
        history: HISTORY.Issued,
        command: supersedeBy(OTHER_ID),
        events: [{ type: 'CertificateSuperseded', data: { supersededBy: OTHER_ID } }],
        after: { state: 'Superseded', supersededBy: OTHER_ID, certificate: ISSUED },
      },
      {
        name: 'a renewal of an Issued certificate is recorded with a link to the new certificate, and keeps it Issued',
        from: 'Issued',
        history: HISTORY.Issued,
        command: COMMAND.RequestRenewal,
        events: [{ type: 'CertificateRenewalRequested', data: { renewalId: OTHER_ID, reuseKey: false, automatic: false } }],
        after: { state: 'Issued', renewedBy: OTHER_ID, certificate: ISSUED },
      },
      {
        name: 'a failed renewal is counted with its next attempt, and frees the certificate for another renewal',
        from: 'Issued',
        history: HISTORY.Issued,
        command: COMMAND.RecordRenewalFailure,
        events: [
          {
            type: 'CertificateRenewalFailed',
            data: { renewalId: OTHER_ID, reason: 'the renewal was rejected', attempt: 1, nextAttemptAt: '2026-01-01T01:00:00.000Z' },
          },
        ],
        after: { state: 'Issued', renewedBy: null, renewalAttempts: 1, renewalRetryAt: '2026-01-01T01:00:00.000Z' },
      },
      {
        name: 'an expiry reminder is recorded with its deliveries and remembered as the last threshold sent',
        from: 'Issued',
        history: HISTORY.Issued,
        command: COMMAND.RecordRenewalReminder,
        events: [
          {
            type: 'RenewalReminderSent',
            data: { threshold: 30, daysLeft: 30, catchUp: false, channels: ['log'], deliveries: [{ channel: 'log', ok: true, attempts: 1, detail: 'logged' }] },
          },
        ],
        after: { state: 'Issued', lastReminderThreshold: 30 },
      },
      ...ALLOWED.ImportIssuedCertificate.map(
        (from): Transition => ({
          name: `importing the CA's certificate for a ${from} request moves it to Issued and records who imported it from which format`,
          from,
          history: HISTORY[from],
          command: COMMAND.ImportIssuedCertificate,
          events: [{ type: 'CertificateImported', data: { ...ISSUED, format: 'pkcs7-pem', importedBy: 'bob', warnings: [] } }],
          after: { state: 'Issued', certificate: ISSUED, keyId: ID },
        }),
      ),
      ...ALLOWED.ExportCertificate.map(
        (from): Transition => ({
          name: `exporting a ${from} certificate is recorded with who exported it and keeps the state`,
          from,
          history: HISTORY[from],
          command: COMMAND.ExportCertificate,
          events: [{ type: 'CertificateExported', data: { format: 'pfx', includesKey: false, legacy: false, exportedBy: 'bob' } }],
          after: { state: from, certificate: ISSUED },
        }),
      ),
      {
        name: 'a poll of a progressing CA order is recorded with the CA\'s status and the next attempt, and keeps the state',
        from: 'Submitted',
        history: HISTORY.Submitted,
        command: COMMAND.RecordOrderPolled,
        events: [{ type: 'CertificateOrderPolled', data: { status: 'processing', nextAttemptAt: '2026-01-01T00:00:05.000Z' } }],
        after: { state: 'Submitted', orderStatus: 'processing', nextAttemptAt: '2026-01-01T00:00:05.000Z', orderId: 'order-1' },
      },
      {
        name: 'a reminder to approvers is recorded and counted, and keeps the request waiting',
        from: 'AwaitingApproval',
        history: HISTORY.AwaitingApproval,
        command: COMMAND.RecordApprovalReminder,
        events: [{ type: 'CertificateApprovalReminderSent', data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', approvalsMissing: 1 } }],
        after: { state: 'AwaitingApproval', remindersSent: 1 },
      },
      {
        name: 'a reminder of a manual request still waiting for its import is recorded and counted, and keeps it waiting',
        from: 'RequestGenerated',
        history: [requested({ provider: 'manual' }), generated],
        command: COMMAND.RecordImportReminder,
        events: [
          {
            type: 'CertificateImportReminderSent',
            data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', channels: ['log'], deliveries: [{ channel: 'log', ok: true, attempts: 1, detail: 'logged' }] },
          },
        ],
        after: { state: 'RequestGenerated', importRemindersSent: 1, csrPem: CSR },
      },
      {
        name: "an ACME CA's renewal window is recorded with the time chosen inside it",
        from: 'Issued',
        history: [requested({ provider: 'acme' }), generated, issued],
        command: COMMAND.RecordRenewalInfo,
        events: [{ type: 'RenewalInfoUpdated', data: (COMMAND.RecordRenewalInfo as Extract<CertificateCommand, { type: 'RecordRenewalInfo' }>).data }],
        after: { state: 'Issued', renewalInfo: { renewAt: '2026-01-21T03:00:00.000Z', nextCheckAt: '2026-01-01T06:00:00.000Z' } },
      },
      ...ALLOWED.RemoveCertificate.map(
        (from): Transition => ({
          name: `removing a certificate that is ${from} moves it to Removed and remembers the previous state`,
          from,
          history: HISTORY[from],
          command: COMMAND.RemoveCertificate,
          events: [{ type: 'CertificateRemoved', data: { removedBy: 'bob', reason: 'server decommissioned' } }],
          after: { state: 'Removed', previousState: from, certificateId: ID, requestedBy: REQUESTER },
        }),
      ),
    ];

    it.each(transitions.map((t) => [t.name, t] as const))('%s', (_name, t) => {
      expect(foldCertificate(t.history).state).toBe(t.from);
      const after = given(t.history).when(t.command).then(t.events);
      expect(after).toMatchObject(t.after);
      // Identity and the original request survive every transition.
      expect(after).toMatchObject({ certificateId: ID, requestedBy: REQUESTER, request: (foldCertificate(t.history) as { request: unknown }).request });
    });

    it('every allowed (command, state) pair has a transition case', () => {
      const covered = new Set(transitions.map((t) => `${t.command.type}@${t.from}`));
      const expected = Object.entries(ALLOWED).flatMap(([type, states]) => states.map((s) => `${type}@${s}`));
      expect([...covered].sort()).toEqual([...expected].sort());
    });

    it('a submission without a provider order id is recorded with a null order id', () => {
      const after = given(HISTORY.RequestGenerated)
        .when({ type: 'SubmitRequest', data: { orderId: null }, actor: WORKER })
        .then([{ type: 'CertificateRequestSubmitted', data: { provider: 'self-signed', orderId: null } }]);
      expect(after).toMatchObject({ state: 'Submitted', orderId: null });
    });

    it('submission names the provider of the original request', () => {
      const history = [requested({ provider: 'internal-ca' }), generated];
      given(history)
        .when(COMMAND.SubmitRequest)
        .then([{ type: 'CertificateRequestSubmitted', data: { provider: 'internal-ca', orderId: 'order-1' } }]);
    });

    it('removal keeps the key and the issued certificate for the history', () => {
      const after = given(HISTORY.Issued).when(remove()).then([
        { type: 'CertificateRemoved', data: { removedBy: 'bob', reason: null } },
      ]);
      expect(after).toMatchObject({ state: 'Removed', previousState: 'Issued', keyId: ID, csrPem: CSR, certificate: ISSUED });
    });

    it('removal of a certificate without a key does not invent one', () => {
      const after = given(HISTORY.Requested).when(remove()).then([
        { type: 'CertificateRemoved', data: { removedBy: 'bob', reason: null } },
      ]);
      expect(after).not.toHaveProperty('keyId');
      expect(after).not.toHaveProperty('certificate');
    });

    it('a failure before the key exists leaves no key on the Failed state', () => {
      const after = given(HISTORY.Requested).when(COMMAND.FailRequest).then([
        { type: 'CertificateRequestFailed', data: { step: 'issue', reason: 'CSR refused by the CA' } },
      ]);
      expect(after.state).toBe('Failed');
      expect(after).not.toHaveProperty('keyId');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('approvals (N of M)', () => {
    const awaitingTwo = [requested(), generated, submitted(), approvalRequested(2)];

    it('with two approvals required, the first approval keeps the request AwaitingApproval', () => {
      const after = given(awaitingTwo).when(approve('bob')).then([
        { type: 'CertificateRequestApproved', data: { approvedBy: 'bob', comment: null } },
      ]);
      expect(after).toMatchObject({ state: 'AwaitingApproval', approvalsRequired: 2, approvals: ['bob'] });
    });

    it('with two approvals required, the second approval by someone else moves it to Submitted', () => {
      const after = given([...awaitingTwo, approved('bob')]).when(approve('carol', 'second pair of eyes')).then([
        { type: 'CertificateRequestApproved', data: { approvedBy: 'carol', comment: 'second pair of eyes' } },
      ]);
      expect(after).toMatchObject({ state: 'Submitted', approvals: ['bob', 'carol'], orderId: 'order-1' });
    });

    it('three required approvals need three distinct approvers', () => {
      const history = [requested(), generated, submitted(), approvalRequested(3)];
      let state = foldCertificate(history);
      for (const [approver, expectedState] of [
        ['bob', 'AwaitingApproval'],
        ['carol', 'AwaitingApproval'],
        ['dave', 'Submitted'],
      ] as const) {
        state = decide(approve(approver), state).reduce(evolve, state);
        expect(state.state).toBe(expectedState);
      }
    });

    it('the requester cannot approve their own request (separation of duties)', () => {
      const error = given(HISTORY.AwaitingApproval).when(approve(REQUESTER)).thenRefused('SeparationOfDuties', 'forbidden');
      expect(error.message).toContain(REQUESTER);
    });

    it('the requester cannot provide the missing second approval either', () => {
      given([...awaitingTwo, approved('bob')]).when(approve(REQUESTER)).thenRefused('SeparationOfDuties', 'forbidden');
    });

    it('the same approver cannot approve twice', () => {
      const error = given([...awaitingTwo, approved('bob')]).when(approve('bob')).thenRefused('AlreadyApproved', 'conflict');
      expect(error.message).toContain('bob');
    });

    it('once enough approvals exist, a further approval is refused as the request is Submitted', () => {
      given([...HISTORY.AwaitingApproval, approved('bob')]).when(approve('carol')).thenRefused('InvalidLifecycleState', 'conflict');
    });

    it('a new approval round after a completed one starts with no approvals', () => {
      const after = given([...HISTORY.AwaitingApproval, approved('bob')]).when(requireApproval(1)).then([
        { type: 'CertificateApprovalRequested', data: { approvalsRequired: 1, ...APPROVAL_POLICY } },
      ]);
      expect(after).toMatchObject({ state: 'AwaitingApproval', approvals: [] });
      given([...HISTORY.AwaitingApproval, approved('bob'), approvalRequested(1)])
        .when(approve('bob'))
        .then([{ type: 'CertificateRequestApproved', data: { approvedBy: 'bob', comment: null } }]);
    });

    it.each<[string, number]>([
      ['zero', 0],
      ['a negative number of', -1],
      ['a fractional number of', 1.5],
      ['NaN', Number.NaN],
    ])('requiring %s approvals is refused', (_name, n) => {
      given(HISTORY.Submitted).when(requireApproval(n)).thenRefused('InvalidApprovalCount', 'invalid');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('transient failures', () => {
    it('attempt numbers increment with each failure in the same state', () => {
      given([requested(), stepFailed(1), stepFailed(2)])
        .when(COMMAND.RecordStepFailure)
        .then([
          {
            type: 'CertificateStepFailed',
            data: { step: 'issue', reason: 'CA timed out', attempt: 3, nextAttemptAt: '2026-01-01T00:01:00.000Z' },
          },
        ]);
    });

    it('the last error is the latest failure reason', () => {
      const state = foldCertificate([requested(), stepFailed(1, 'generate-request', 'first'), stepFailed(2, 'generate-request', 'second')]);
      expect(state).toMatchObject({ state: 'Requested', failedAttempts: 2, lastError: 'second' });
    });

    it.each<[string, readonly CertificateEvent[]]>([
      ['the request is generated', [requested(), stepFailed(1), stepFailed(2), generated]],
      ['the request is submitted', [requested(), generated, stepFailed(1), submitted()]],
      ['an approval is requested', [requested(), generated, submitted(), stepFailed(1), stepFailed(2), approvalRequested(1)]],
      ['the last approval arrives', [...HISTORY.AwaitingApproval, stepFailed(1), approved('bob')]],
    ])('attempts start again at 1 after %s', (_name, history) => {
      const state = foldCertificate(history);
      expect(state).toMatchObject({ failedAttempts: 0, lastError: null });
      given(history)
        .when(COMMAND.RecordStepFailure)
        .then([
          {
            type: 'CertificateStepFailed',
            data: { step: 'issue', reason: 'CA timed out', attempt: 1, nextAttemptAt: '2026-01-01T00:01:00.000Z' },
          },
        ]);
    });

    it('a whole run: fail, fail, succeed, fail counts 1, 2, then 1 again', () => {
      let state = foldCertificate([requested()]);
      const attempts: number[] = [];
      const run = (command: CertificateCommand) => {
        const events = decide(command, state);
        for (const e of events) if (e.type === 'CertificateStepFailed') attempts.push(e.data.attempt);
        state = events.reduce(evolve, state);
      };
      run(COMMAND.RecordStepFailure);
      run(COMMAND.RecordStepFailure);
      run(COMMAND.RecordRequestGenerated);
      run(COMMAND.RecordStepFailure);
      expect(attempts).toEqual([1, 2, 1]);
      expect(state).toMatchObject({ state: 'RequestGenerated', failedAttempts: 1 });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('refused commands', () => {
    const others = COMMAND_TYPES.filter((t) => t !== 'RequestCertificate' && t !== 'ImportExternalCertificate') as (keyof typeof ALLOWED)[];

    it.each(others.map((t) => [t]))('%s on a certificate that does not exist is refused as not found', (type) => {
      given([]).when(COMMAND[type]).thenRefused('CertificateNotFound', 'not-found');
    });

    const wrongStateCases = (Object.entries(ALLOWED) as [keyof typeof ALLOWED, readonly LifecycleState[]][])
      .filter(([type]) => type !== 'RemoveCertificate')
      .flatMap(([type, allowed]) =>
        LIFECYCLE_STATES.filter((s) => !allowed.includes(s)).map((state) => [`${type} is refused while the certificate is ${state}`, type, state] as const),
      );

    it.each(wrongStateCases)('%s', (_name, type, state) => {
      const error = given(HISTORY[state]).when(COMMAND[type]).thenRefused('InvalidLifecycleState', 'conflict');
      expect(error.details).toEqual({ state });
      expect(error.message).toContain(state);
      // The message names what is needed: the allowed states, or "in-flight" for the four of them.
      const needed = ALLOWED[type].length === IN_FLIGHT_STATES.length ? ['in-flight'] : ALLOWED[type];
      for (const n of needed) expect(error.message).toContain(n);
    });

    it('the final states Rejected, Failed and Revoked accept nothing but removal (and export of a revoked certificate)', () => {
      for (const state of ['Rejected', 'Failed', 'Revoked'] as const) {
        const accepted = others.filter((t) => ALLOWED[t as keyof typeof ALLOWED].includes(state));
        expect(accepted.sort()).toEqual(state === 'Revoked' ? ['ExportCertificate', 'RemoveCertificate'] : ['RemoveCertificate']);
        for (const t of others.filter((x) => !accepted.includes(x))) {
          given(HISTORY[state]).when(COMMAND[t]).thenRefused('InvalidLifecycleState', 'conflict');
        }
      }
    });

    it.each([
      ['an empty reason', ''],
      ['a blank reason', '   '],
      ['a reason of only new lines', '\n\t'],
    ])('a rejection with %s is refused', (_name, reason) => {
      for (const state of ALLOWED.RejectRequest) {
        given(HISTORY[state]).when(reject(reason)).thenRefused('ReasonRequired', 'invalid');
      }
    });

    it('the same approval reminder is never sent twice', () => {
      const history = [...HISTORY.AwaitingApproval, { type: 'CertificateApprovalReminderSent', data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', approvalsMissing: 1 } } as CertificateEvent];
      given(history).when(COMMAND.RecordApprovalReminder).thenRefused('ReminderAlreadySent', 'conflict');
    });

    it('a certificate cannot supersede itself', () => {
      given(HISTORY.Issued).when(supersedeBy(ID)).thenRefused('InvalidSupersede', 'invalid');
    });

    it.each<[string, readonly CertificateEvent[]]>([
      ['a Requested certificate', [...HISTORY.Requested, removed]],
      ['an Issued certificate', [...HISTORY.Issued, removed]],
      ['a Revoked certificate', [...HISTORY.Revoked, removed]],
    ])('removing %s twice is refused', (_name, history) => {
      expect(foldCertificate(history).state).toBe('Removed');
      given(history).when(remove('again')).thenRefused('CertificateRemoved', 'conflict');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('evolve', () => {
    it('ignores events other than CertificateRequested on a stream that has not started', () => {
      for (const e of [generated, submitted(), issued, removed]) {
        expect(evolve(initialCertificateState(), e)).toEqual({ state: 'Initial' });
      }
    });

    it('ignores an approval when no approval is awaited', () => {
      const state = foldCertificate(HISTORY.Submitted);
      expect(evolve(state, approved('bob'))).toBe(state);
    });

    it('a Removed certificate remembers it was Superseded', () => {
      expect(foldCertificate([...HISTORY.Superseded, removed])).toMatchObject({ state: 'Removed', previousState: 'Superseded' });
    });

    it('Revoked after Superseded keeps the issued certificate and its key', () => {
      expect(foldCertificate([...HISTORY.Superseded, revoked])).toMatchObject({
        state: 'Revoked',
        revocationReason: 'keyCompromise',
        certificate: ISSUED,
        keyId: ID,
      });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('renewal and reminders', () => {
    const renewalRequested: CertificateEvent = { type: 'CertificateRenewalRequested', data: { renewalId: OTHER_ID, reuseKey: false, automatic: true } };
    const reminder = (threshold: number): CertificateCommand => ({
      type: 'RecordRenewalReminder',
      data: { threshold, daysLeft: threshold, catchUp: false, channels: ['log'], deliveries: [] },
      actor: WORKER,
    });

    it('a second renewal while one is in flight is refused and names the renewal in flight', () => {
      const error = given([...HISTORY.Issued, renewalRequested]).when(COMMAND.RequestRenewal).thenRefused('RenewalInProgress', 'conflict');
      expect(error.message).toContain(OTHER_ID);
    });

    it('after a failed renewal, a new renewal may start', () => {
      const failedRenewal: CertificateEvent = {
        type: 'CertificateRenewalFailed',
        data: { renewalId: OTHER_ID, reason: 'rejected', attempt: 1, nextAttemptAt: '2026-01-01T01:00:00.000Z' },
      };
      const after = given([...HISTORY.Issued, renewalRequested, failedRenewal]).when(COMMAND.RequestRenewal).then([
        { type: 'CertificateRenewalRequested', data: { renewalId: OTHER_ID, reuseKey: false, automatic: false } },
      ]);
      expect(after).toMatchObject({ renewedBy: OTHER_ID, renewalAttempts: 1 });
    });

    it('a certificate cannot be its own renewal', () => {
      given(HISTORY.Issued)
        .when({ type: 'RequestRenewal', data: { renewalId: ID, reuseKey: false, automatic: false }, actor: 'bob' })
        .thenRefused('InvalidRenewal', 'invalid');
    });

    it('reusing the key of a certificate certflow holds no key for is refused', () => {
      const external: CertificateEvent = {
        type: 'ExternalCertificateImported',
        data: { ...ISSUED, certificateId: ID, format: 'pem', keyId: null, privateKeyExportable: false, friendlyName: null, importedBy: 'bob' },
      };
      given([external])
        .when({ type: 'RequestRenewal', data: { renewalId: OTHER_ID, reuseKey: true, automatic: false }, actor: 'bob' })
        .thenRefused('NoPrivateKey', 'conflict');
    });

    it.each<[string, number]>([
      ['the same threshold again', 14],
      ['a less urgent threshold', 30],
    ])('after the 14-day reminder, %s is refused (each threshold once)', (_name, threshold) => {
      const sent: CertificateEvent = {
        type: 'RenewalReminderSent',
        data: { threshold: 14, daysLeft: 14, catchUp: false, channels: ['log'], deliveries: [] },
      };
      given([...HISTORY.Issued, sent]).when(reminder(threshold)).thenRefused('ReminderAlreadySent', 'conflict');
    });

    it('import reminders are for manual requests only, each number once, and stop once the certificate is imported', () => {
      given(HISTORY.RequestGenerated).when(COMMAND.RecordImportReminder).thenRefused('NotAManualRequest', 'conflict');
      const manual = [requested({ provider: 'manual' }), generated];
      const first: CertificateEvent = {
        type: 'CertificateImportReminderSent',
        data: { reminder: 1, waitingSince: '2026-01-01T00:00:00.000Z', channels: [], deliveries: [] },
      };
      given([...manual, first]).when(COMMAND.RecordImportReminder).thenRefused('ReminderAlreadySent', 'conflict');
      given([...manual, first, issued]).when(COMMAND.RecordImportReminder).thenRefused('InvalidLifecycleState', 'conflict');
      expect(foldCertificate([...manual, first, stepFailed(1)])).toMatchObject({ importRemindersSent: 1 });
    });

    it('renewal information is for ACME certificates, with valid times', () => {
      given(HISTORY.Issued).when(COMMAND.RecordRenewalInfo).thenRefused('RenewalInfoNotApplicable', 'conflict');
      const acme = [requested({ provider: 'acme' }), generated, issued];
      const bad = COMMAND.RecordRenewalInfo as Extract<CertificateCommand, { type: 'RecordRenewalInfo' }>;
      given(acme).when({ ...bad, data: { ...bad.data, nextCheckAt: 'soon' } }).thenRefused('InvalidRenewalInfo', 'invalid');
      // A failed fetch is recorded too: no window, the reason, and when to ask again.
      given(acme)
        .when({ ...bad, data: { window: null, renewAt: null, explanationUrl: null, nextCheckAt: '2026-01-01T06:00:00.000Z', error: 'HTTP 500' } })
        .then([{ type: 'RenewalInfoUpdated', data: { window: null, renewAt: null, explanationUrl: null, nextCheckAt: '2026-01-01T06:00:00.000Z', error: 'HTTP 500' } }]);
    });

    it('a superseded certificate gets no reminders and cannot be renewed again', () => {
      given(HISTORY.Superseded).when(reminder(7)).thenRefused('InvalidLifecycleState', 'conflict');
      given(HISTORY.Superseded).when(COMMAND.RequestRenewal).thenRefused('InvalidLifecycleState', 'conflict');
    });

    it.each<[string, Partial<CertificateRequestSpec>]>([
      ['a percentage of 100', { renewBeforePercentage: 100 }],
      ['a negative renewBefore', { renewBeforeMs: -1 }],
      ['both renewBefore and a percentage', { renewBeforeMs: 86_400_000, renewBeforePercentage: 20 }],
      ['a threshold of zero days', { reminderThresholds: [30, 0] }],
      ['a contact that is not an e-mail address', { contact: 'alice' }],
    ])('a request with %s is refused', (_name, overrides) => {
      given([]).when(aRequestCommand(ID, overrides)).thenRefused(overrides.contact ? 'InvalidContact' : 'InvalidRenewalPolicy', 'invalid');
    });

    it('a renewal request records its policy, the certificate it renews and the key to reuse', () => {
      const overrides: Partial<CertificateRequestSpec> = { autoRenew: false, renewBeforePercentage: 20, reminderThresholds: [7, 30], contact: 'a@contoso.com', renews: OTHER_ID, keyId: OTHER_ID };
      given([]).when(aRequestCommand(ID, overrides)).then([
        { type: 'CertificateRequested', data: { ...aRequestSpec({ ...overrides, reminderThresholds: [30, 7] }), certificateId: ID, requestedBy: 'alice' } },
      ]);
    });
  });

  describe('purity and safety', () => {
    const deepFreeze = <T>(o: T): T => {
      if (o && typeof o === 'object' && !Object.isFrozen(o)) {
        Object.freeze(o);
        for (const v of Object.values(o)) deepFreeze(v);
      }
      return o;
    };

    /** Every successful command of the happy paths, from each state where it is allowed. */
    const allProducedEvents = (): CertificateEvent[] => {
      const produced: CertificateEvent[] = [...decide(COMMAND.RequestCertificate, initialCertificateState())];
      for (const [type, states] of Object.entries(ALLOWED) as [keyof typeof ALLOWED, readonly LifecycleState[]][]) {
        for (const s of states) produced.push(...decide(COMMAND[type], foldCertificate(historyFor(type, s))));
      }
      return produced;
    };

    it('decide never puts anything that looks like a private key in events', () => {
      const events = allProducedEvents();
      expect(events.length).toBeGreaterThan(20);
      const json = JSON.stringify(events);
      expect(json).not.toMatch(/PRIVATE KEY/i);
      // The only key-related field is the exportable flag; no privateKey/pkcs8/jwk payloads.
      const keys = new Set<string>();
      const walk = (v: unknown) => {
        if (!v || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
      };
      walk(events);
      expect([...keys].filter((k) => /private|pkcs8|jwk|secret/i.test(k))).toEqual(['privateKeyExportable']);
    });

    it('decide and evolve never mutate the state, the command or the events', () => {
      for (const [type, states] of Object.entries(ALLOWED) as [keyof typeof ALLOWED, readonly LifecycleState[]][]) {
        for (const s of states) {
          const history = deepFreeze(historyFor(type, s).map((e) => structuredClone(e)));
          const state = deepFreeze(foldCertificate(history));
          const command = deepFreeze(structuredClone(COMMAND[type]));
          const snapshot = structuredClone(state);
          const events = deepFreeze(decide(command, state));
          events.reduce(evolve, state);
          expect(state).toEqual(snapshot);
        }
      }
    });

    it('the same command on the same state gives the same answer', () => {
      const state = foldCertificate(HISTORY.AwaitingApproval);
      expect(decide(approve('bob'), state)).toEqual(decide(approve('bob'), state));
      expect(() => decide(approve(REQUESTER), state)).toThrow(DomainError);
      expect(() => decide(approve(REQUESTER), state)).toThrow(DomainError);
    });
  });
});
