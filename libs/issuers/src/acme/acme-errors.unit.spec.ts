import { dnsHookEnv } from './acme-challenges.adapter';
import { AcmeNetworkError, AcmeProblemError, MAX_RETRY_AFTER_MS, classifyAcmeFailure, describeAcmeError, parseRetryAfter } from './acme-errors';
import { dnsRecord } from './acme.issuer';

const now = new Date('2026-11-23T12:00:00.000Z');
const E = 'urn:ietf:params:acme:error:';
const problem = (status: number, type: string | null, retryAfter: string | null = null, subproblems: AcmeProblemError['subproblems'] = []) =>
  new AcmeProblemError(status, type, 'the detail', retryAfter, 'https://ca.test/new-order', subproblems);

describe('parseRetryAfter', () => {
  it.each<[string, string | null | undefined, string | null]>([
    ['delay-seconds are counted from now', '120', '2026-11-23T12:02:00.000Z'],
    ['zero seconds means now', '0', '2026-11-23T12:00:00.000Z'],
    ['an HTTP-date is taken as it is', 'Mon, 23 Nov 2026 13:30:00 GMT', '2026-11-23T13:30:00.000Z'],
    ['an HTTP-date in the past means now', 'Sun, 22 Nov 2026 13:30:00 GMT', '2026-11-23T12:00:00.000Z'],
    ['surrounding spaces are ignored', ' 60 ', '2026-11-23T12:01:00.000Z'],
    ['a missing header gives nothing', undefined, null],
    ['an empty header gives nothing', '', null],
    ['a negative number is unreadable', '-5', null],
    ['a fraction is unreadable', '1.5', null],
    ['words are unreadable', 'soon', null],
  ])('%s', (_name, header, expected) => {
    expect(parseRetryAfter(header, now)?.toISOString() ?? null).toBe(expected);
  });

  it('caps an absurd delay at seven days', () => {
    expect(parseRetryAfter('999999999', now)!.getTime()).toBe(now.getTime() + MAX_RETRY_AFTER_MS);
  });
});

describe('classifyAcmeFailure', () => {
  it.each<[string, unknown, string]>([
    ['a 429 is a transient rate limit', problem(429, `${E}rateLimited`), 'transient'],
    ['rateLimited without 429 is still transient', problem(403, `${E}rateLimited`), 'transient'],
    ['a 503 without a problem document is transient', problem(503, null), 'transient'],
    ['serverInternal is transient', problem(500, `${E}serverInternal`), 'transient'],
    ['an exhausted badNonce retry is transient', problem(400, `${E}badNonce`), 'transient'],
    ['an unreachable CA is transient', new AcmeNetworkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:14000', 'https://ca.test/dir'), 'transient'],
    ['rejectedIdentifier rejects the request', problem(400, `${E}rejectedIdentifier`), 'rejected'],
    ['unauthorized rejects the request', problem(403, `${E}unauthorized`), 'rejected'],
    ['a 404 without a problem document rejects the request', problem(404, null), 'rejected'],
    ['an error that is not about ACME is left to the caller', new TypeError('boom'), 'other'],
  ])('%s', (_name, error, kind) => {
    expect(classifyAcmeFailure(error, now).kind).toBe(kind);
  });

  it('honours the Retry-After of a rate limit', () => {
    const failure = classifyAcmeFailure(problem(429, `${E}rateLimited`, '3600'), now);
    expect(failure).toEqual({ kind: 'transient', message: 'ACME rate limit (429 rateLimited): the detail', retryAt: new Date('2026-11-23T13:00:00.000Z') });
  });

  it('leaves the retry time to certflow\'s backoff when the CA sends no Retry-After', () => {
    expect(classifyAcmeFailure(problem(502, null), now)).toMatchObject({ kind: 'transient', retryAt: null });
  });

  it('names the problem type, the detail and each refused identifier in a rejection', () => {
    const failure = classifyAcmeFailure(
      problem(400, `${E}rejectedIdentifier`, null, [{ type: `${E}rejectedIdentifier`, detail: 'policy forbids it', identifier: { value: 'bad.example' } }]),
      now,
    );
    expect(failure).toEqual({ kind: 'rejected', reason: 'ACME rejectedIdentifier: the detail (bad.example: policy forbids it)' });
  });
});

describe('describeAcmeError', () => {
  it.each<[string, unknown, string | null]>([
    ['a problem with type and detail', { type: `${E}unauthorized`, detail: 'wrong key authorization' }, 'unauthorized: wrong key authorization'],
    ['a problem without detail', { type: `${E}connection` }, 'connection: no detail given'],
    ['no error at all', undefined, null],
    ['an empty object', {}, null],
  ])('%s', (_name, error, expected) => {
    expect(describeAcmeError(error)).toBe(expected);
  });
});

describe('dns-01 records and hooks', () => {
  it('puts a wildcard\'s TXT record at its base domain', () => {
    expect(dnsRecord('*.contoso.com', 'abc')).toEqual({ domain: 'contoso.com', txtName: '_acme-challenge.contoso.com', txtValue: 'abc' });
  });

  it('gives the hook the record but none of certflow\'s secrets', () => {
    const env = dnsHookEnv('present', dnsRecord('mail.contoso.com', 'xyz'), {
      PATH: '/usr/bin',
      DNS_API_TOKEN: 'the hook needs this',
      CERTFLOW_MASTER_KEY: 'secret',
      CERTFLOW_ADMIN_TOKEN: 'secret',
      DATABASE_URL: 'postgres://u:secret@db/certflow',
      REDIS_URL: 'redis://:secret@redis',
      PGPASSWORD: 'secret',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      DNS_API_TOKEN: 'the hook needs this',
      CERTFLOW_ACME_ACTION: 'present',
      CERTFLOW_ACME_DOMAIN: 'mail.contoso.com',
      CERTFLOW_ACME_TXT_NAME: '_acme-challenge.mail.contoso.com',
      CERTFLOW_ACME_TXT_VALUE: 'xyz',
    });
  });
});
