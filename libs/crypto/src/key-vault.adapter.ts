import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Pool } from 'pg';

/**
 * Private keys at rest: AES-256-GCM under the master key, one random 96-bit IV per key, the
 * key id as additional authenticated data (a ciphertext cannot be moved to another id).
 * Keys leave the vault only into the worker's memory, never into events, jobs or logs.
 */
export class KeyVault {
  constructor(
    private readonly pool: Pool,
    private readonly masterKey: Buffer,
  ) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes (AES-256)');
  }

  /** Stores the key unless one is stored under this id already; returns the stored one's label. */
  async putIfAbsent(keyId: string, label: string, pkcs8: Buffer): Promise<boolean> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(keyId));
    const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    const result = await this.pool.query(
      `INSERT INTO key_vault (key_id, algorithm, iv, auth_tag, ciphertext) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key_id) DO NOTHING`,
      [keyId, label, iv, cipher.getAuthTag(), ciphertext],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async get(keyId: string): Promise<{ label: string; pkcs8: Buffer } | null> {
    const { rows } = await this.pool.query<{ algorithm: string; iv: Buffer; auth_tag: Buffer; ciphertext: Buffer }>(
      'SELECT algorithm, iv, auth_tag, ciphertext FROM key_vault WHERE key_id = $1',
      [keyId],
    );
    if (rows.length === 0) return null;
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, rows[0].iv);
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(rows[0].auth_tag);
    return { label: rows[0].algorithm, pkcs8: Buffer.concat([decipher.update(rows[0].ciphertext), decipher.final()]) };
  }
}

/**
 * The master key: `CERTFLOW_MASTER_KEY` (32 bytes as base64 or 64 hex digits), or else a key
 * file (default `.certflow/master.key`), created with mode 0600 on first start.
 */
export function loadMasterKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const configured = env.CERTFLOW_MASTER_KEY?.trim();
  if (configured) {
    const key = /^[0-9a-fA-F]{64}$/.test(configured) ? Buffer.from(configured, 'hex') : Buffer.from(configured, 'base64');
    if (key.length !== 32) throw new Error('CERTFLOW_MASTER_KEY must be 32 bytes, as base64 or 64 hex digits');
    return key;
  }
  const file = env.CERTFLOW_MASTER_KEY_FILE ?? `${env.CERTFLOW_DATA_DIR ?? '.certflow'}/master.key`;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // api and worker raced: use the winner's
    }
  }
  chmodSync(file, 0o600);
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`master key file ${file} does not hold 32 base64 bytes`);
  return key;
}
