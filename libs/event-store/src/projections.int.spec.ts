import { randomBytes, randomUUID } from 'node:crypto';
import { EventMetadata, handleCertificateCommand } from '../../application/src';
import { TestDatabase, aRequestCommand, createTestDatabase, someIssuedFacts } from '../../testing/src';
import { createAuditCheckpoint, verifyAuditLog } from './audit';
import { PostgresEventStore } from './event-store.adapter';
import { createEventStore } from './factory';

let db: TestDatabase;
let store: PostgresEventStore;
let day = 0;
const meta = (actor = 'alice'): EventMetadata => ({
  actor,
  at: new Date(Date.UTC(2026, 0, 1 + day++)).toISOString(),
  correlationId: randomUUID(),
  causationId: null,
});

async function aCertificateIn(state: 'Requested' | 'RequestGenerated' | 'Issued' | 'Removed' | 'Rejected'): Promise<string> {
  const id = randomUUID();
  await handleCertificateCommand(store, id, aRequestCommand(id, { provider: state === 'Rejected' ? 'manual' : 'self-signed' }), meta());
  if (state === 'Requested') return id;
  await handleCertificateCommand(store, id, { type: 'RecordRequestGenerated', data: { keyId: id, csrPem: 'CSR' }, actor: 'worker' }, meta('worker'));
  if (state === 'RequestGenerated') return id;
  if (state === 'Rejected') {
    await handleCertificateCommand(store, id, { type: 'RejectRequest', data: { reason: 'no' }, actor: 'bob' }, meta('bob'));
    return id;
  }
  await handleCertificateCommand(store, id, { type: 'RecordIssued', data: someIssuedFacts({ thumbprint: randomBytes(20).toString('hex').toUpperCase() }), actor: 'worker' }, meta('worker'));
  if (state === 'Issued') return id;
  await handleCertificateCommand(store, id, { type: 'RemoveCertificate', data: { reason: 'test' }, actor: 'alice' }, meta());
  return id;
}

const snapshot = async () => ({
  certificates: (await db.pool.query('SELECT * FROM certificate_view ORDER BY id')).rows,
  tokens: (await db.pool.query('SELECT * FROM api_tokens ORDER BY token_id')).rows,
});

beforeAll(async () => {
  db = await createTestDatabase('projections');
  store = createEventStore(db.pool);
});
afterAll(() => db.drop());

describe('certificate_view (inline projection)', () => {
  it('is updated in the same transaction as the append: a read right after a write sees it', async () => {
    const id = await aCertificateIn('Issued');
    const { rows } = await db.pool.query('SELECT state, version, thumbprint, has_private_key FROM certificate_view WHERE id = $1', [id]);
    expect(rows[0]).toMatchObject({ state: 'Issued', version: 3, has_private_key: true });
    expect(rows[0].thumbprint).toHaveLength(40);
  });

  it('is rebuilt from the log with identical rows', async () => {
    for (const s of ['Requested', 'RequestGenerated', 'Issued', 'Removed', 'Rejected', 'Issued'] as const) await aCertificateIn(s);
    await store.appendToStream(`token-${randomUUID()}`, [{ type: 'ApiTokenCreated', data: { tokenId: randomUUID(), name: 'ops', roles: ['operator'], tokenHash: 'ab'.repeat(32), createdBy: 'admin' } }], { expectedVersion: 0, metadata: meta('admin') });
    const before = await snapshot();
    expect(before.certificates.length).toBeGreaterThanOrEqual(6);
    await db.pool.query('UPDATE certificate_view SET state = $1', ['Failed']); // damage it first
    await db.pool.query('DELETE FROM api_tokens');
    const { events } = await store.rebuildProjections();
    expect(events).toBeGreaterThan(10);
    expect(await snapshot()).toEqual(before);
  });
});

describe('audit chain', () => {
  it('verifies an untouched log', async () => {
    await aCertificateIn('Issued');
    await createAuditCheckpoint(db.pool);
    const result = await verifyAuditLog(db.pool);
    expect(result.problems).toEqual([]);
    expect(result.checkpoints).toBeGreaterThanOrEqual(1);
  });

  it('detects an edited event', async () => {
    const id = await aCertificateIn('Issued');
    await db.pool.query(`UPDATE events SET data = jsonb_set(data, '{domainNames,0}', '"evil.example"') WHERE stream_id = $1 AND stream_version = 1`, [`certificate-${id}`]);
    const { problems } = await verifyAuditLog(db.pool);
    expect(problems).toContainEqual(expect.objectContaining({ streamId: `certificate-${id}`, streamVersion: 1, problem: 'content does not match its hash' }));
    await db.pool.query(`UPDATE events SET data = jsonb_set(data, '{domainNames,0}', '"server1.fourthcoffee.com"') WHERE stream_id = $1 AND stream_version = 1`, [`certificate-${id}`]);
    expect((await verifyAuditLog(db.pool)).problems).toEqual([]);
  });

  it('detects a whole stream deleted after a global checkpoint', async () => {
    const id = await aCertificateIn('Issued');
    await createAuditCheckpoint(db.pool);
    await db.pool.query('DELETE FROM events WHERE stream_id = $1', [`certificate-${id}`]);
    await db.pool.query('DELETE FROM streams WHERE stream_id = $1', [`certificate-${id}`]);
    const { problems } = await verifyAuditLog(db.pool);
    expect(problems.some((p) => p.streamId === '*' && /checkpoint/.test(p.problem))).toBe(true);
  });
});
