import { CertflowHarness } from './support/certflow.harness';

/**
 * Seeing what is coming: the renewal calendar (planned renewals, and for CAs where people act
 * the latest day to start, learned from the log), its iCalendar feed, and Prometheus metrics.
 */
let h: CertflowHarness;
const ids: Record<string, string> = {};
const DAY = 86_400_000;

beforeAll(async () => {
  h = await CertflowHarness.start('calendar', { CERTFLOW_TEST_CLOCK: '1', CERTFLOW_TIMER_POLL_MS: '200' });
  const approver = (await h.request('POST', '/tokens', { name: 'approver-1', roles: ['approver'] })).body.token;
  const post = async (name: string, body: object) => {
    ids[name] = (await h.request('POST', '/certificates', body)).body.id;
  };
  await post('short', { provider: 'self-signed', domainNames: ['short.contoso.test'], keyAlgorithm: 'ECDSA', validityDays: 40 });
  await post('long', { provider: 'self-signed', domainNames: ['long.contoso.test'], keyAlgorithm: 'ECDSA', validityDays: 365 });
  await post('internal', { provider: 'internal-ca', domainNames: ['intranet.contoso.test'], keyAlgorithm: 'ECDSA', validityDays: 30 });
  await h.waitForState(ids.internal, 'AwaitingApproval');
  // The approver takes two days: the calendar learns that from the log.
  await h.request('POST', '/test/clock/advance', { days: 2 });
  await h.request('POST', `/certificates/${ids.internal}/approve`, {}, approver);
  for (const id of Object.values(ids)) await h.waitForState(id, 'Issued');
});
afterAll(() => h.stop());

describe('GET /renewals', () => {
  it('lists what expires within the window, soonest first, with planned renewals', async () => {
    const res = await h.request('GET', '/renewals?withinDays=60');
    expect(res.status).toBe(200);
    const items = res.body.items as any[];
    expect(items.map((i) => i.id)).toEqual([ids.internal, ids.short]);
    const short = items.find((i) => i.id === ids.short);
    const lifetime = Date.parse(short.notAfter) - Date.parse((await h.request('GET', `/certificates/${ids.short}`)).body.notBefore);
    // By default, renew when one third of the lifetime remains.
    expect(Date.parse(short.notAfter) - Date.parse(short.plannedRenewalAt)).toBeCloseTo(lifetime / 3, -3);
    expect(short.latestStartAt).toBeNull(); // self-signed: nobody has to act
    expect(short.daysLeft).toBe(37);
  });

  it('learns how long the internal CA usually takes, and says when to start at the latest', async () => {
    const internal = (await h.request('GET', '/renewals?withinDays=60')).body.items.find((i: any) => i.id === ids.internal);
    expect(internal.leadTime.basis).toBe('history');
    expect(internal.leadTime.samples).toBe(1);
    expect(internal.leadTime.seconds / 86_400).toBeGreaterThan(1.99);
    expect(internal.leadTime.seconds / 86_400).toBeLessThan(2.1);
    expect(Date.parse(internal.notAfter) - Date.parse(internal.latestStartAt)).toBeCloseTo(internal.leadTime.seconds * 1000, -3);
  });

  it('includes everything with a long enough window, and refuses a bad one', async () => {
    expect((await h.request('GET', '/renewals?withinDays=400')).body.items).toHaveLength(3);
    expect((await h.request('GET', '/renewals?withinDays=-1')).status).toBe(400);
    expect((await h.request('GET', '/renewals', undefined, null)).status).toBe(401);
  });
});

describe('GET /renewals.ics', () => {
  it('is an iCalendar feed with a renewal, a last-start and an expiry event per certificate', async () => {
    const res = await h.request('GET', '/renewals.ics?withinDays=60');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/calendar/);
    const text = res.text;
    expect(text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n')).toBe(true);
    expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true);
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    const unfolded = text.replace(/\r\n /g, '');
    expect(unfolded.match(/BEGIN:VEVENT/g)).toHaveLength(5); // 2 renewals + 1 last start + 2 expiries
    expect(unfolded).toContain(`UID:${ids.short}-renewal@certflow`);
    expect(unfolded).toContain('SUMMARY:Renew short.contoso.test');
    expect(unfolded).toContain('SUMMARY:Last day to start renewing intranet.contoso.test');
    expect(unfolded).toMatch(/DTSTART:\d{8}T\d{6}Z/);
  });
});

describe('GET /metrics', () => {
  it('exposes expiry, planned renewal and readiness per certificate, and queue depths', async () => {
    const res = await h.request('GET', '/metrics');
    expect(res.status).toBe(200);
    const text = res.text;
    const short = (await h.request('GET', `/certificates/${ids.short}`)).body;
    expect(text).toContain('# TYPE certflow_certificate_expiration_timestamp_seconds gauge');
    expect(text).toContain(
      `certflow_certificate_expiration_timestamp_seconds{id="${ids.short}",name="short.contoso.test",provider="self-signed",state="Issued",status="Valid"} ${Math.floor(Date.parse(short.notAfter) / 1000)}`,
    );
    expect(text).toMatch(new RegExp(`certflow_certificate_ready_status\\{id="${ids.internal}",[^}]*condition="True"\\} 1`));
    expect(text).toMatch(/certflow_certificate_renewal_timestamp_seconds\{id=/);
    expect(text).toMatch(/certflow_queue_jobs\{queue="crypto",state="completed"\} \d+/);
    expect(text).toMatch(/certflow_certificates\{state="Issued"\} 3/);
    expect((await h.request('GET', '/metrics', undefined, null)).status).toBe(401);
    void DAY;
  });
});
