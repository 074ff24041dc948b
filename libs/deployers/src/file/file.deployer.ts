import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DeployResult, DeploymentMaterial } from '../../../application/src';
import { FileTarget } from '../../../config/src';
import { redactKeyMaterial } from '../redact';

/** What a file deployer writes: the file's path, content and mode. */
interface PlannedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** A file as it was before the deployment (null: it did not exist), to put back on failure. */
interface Previous {
  readonly path: string;
  readonly content: Buffer | null;
  readonly mode: number;
}

const pem = (p: string): string => p.trim() + '\n';

/**
 * Writes the certificate, key, chain and full chain where a server reads them, then runs the
 * reload command. Each file is written to a temporary file in the same directory and renamed
 * over the old one, so a server never reads a half-written file; the key is created with mode
 * 0600 from the start. If a write or the reload fails (non-zero exit, or the timeout), the
 * previous files are put back the same way and the reload is run once more, so the server keeps
 * presenting what it presented before.
 */
export class FileDeployer {
  constructor(private readonly target: FileTarget) {}

  plan(m: DeploymentMaterial): PlannedFile[] {
    const t = this.target;
    const files: PlannedFile[] = [
      { path: t.certFile, content: pem(m.certificatePem), mode: 0o644 },
      { path: t.keyFile, content: pem(m.privateKeyPem), mode: 0o600 },
    ];
    if (t.chainFile) files.push({ path: t.chainFile, content: m.chainPem.map(pem).join(''), mode: 0o644 });
    if (t.fullchainFile) files.push({ path: t.fullchainFile, content: [m.certificatePem, ...m.chainPem].map(pem).join(''), mode: 0o644 });
    return files;
  }

  async deploy(m: DeploymentMaterial): Promise<DeployResult> {
    const files = this.plan(m);
    const secrets = [m.privateKeyPem];
    const previous = await Promise.all(files.map((f) => snapshot(f.path)));
    try {
      for (const f of files) await atomicWrite(f.path, Buffer.from(f.content), f.mode);
    } catch (e) {
      await this.restore(previous);
      return { outcome: 'failed', code: 'WriteFailed', reason: `Writing the files for ${m.service} failed: ${redactKeyMaterial((e as Error).message, secrets)}; the previous files were restored.`, stderr: null };
    }
    if (!this.target.reload) return { outcome: 'deployed', detail: `wrote ${files.map((f) => f.path).join(', ')}` };
    const run = await runCommand(this.target.reload, this.target.reloadTimeoutMs);
    if (run.ok) return { outcome: 'deployed', detail: `wrote ${files.length} files; "${this.target.reload}" succeeded` };
    await this.restore(previous);
    const again = await runCommand(this.target.reload, this.target.reloadTimeoutMs);
    const output = redactKeyMaterial([run.stderr, run.stdout].filter((s) => s.trim()).join('\n').trim(), secrets);
    return {
      outcome: 'failed',
      code: run.timedOut ? 'ReloadTimedOut' : 'ReloadFailed',
      reason:
        `"${this.target.reload}" ${run.timedOut ? `did not finish within ${this.target.reloadTimeoutMs} ms` : `exited with ${run.code ?? run.signal}`}; ` +
        `the previous files were restored${again.ok ? ' and reloaded' : ` (reloading them failed too: exit ${again.code ?? again.signal})`}.`,
      stderr: output || null,
    };
  }

  private async restore(previous: readonly Previous[]): Promise<void> {
    for (const p of previous) {
      if (p.content === null) await rm(p.path, { force: true });
      else await atomicWrite(p.path, p.content, p.mode);
    }
  }
}

async function snapshot(path: string): Promise<Previous> {
  try {
    const [content, st] = await Promise.all([readFile(path), stat(path)]);
    return { path, content, mode: st.mode & 0o777 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path, content: null, mode: 0 };
    throw e;
  }
}

/** temp file in the same directory (same file system) → fsync'd write with the final mode → rename. */
export async function atomicWrite(path: string, content: Buffer, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(path), `.${basename(path)}.certflow-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { mode, flag: 'wx', flush: true });
    await chmod(tmp, mode); // the umask may have narrowed the mode given at creation
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export interface CommandRun {
  ok: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a reload command with /bin/sh, no stdin, a timeout (SIGTERM, then SIGKILL), and bounded output. */
export function runCommand(command: string, timeoutMs: number): Promise<CommandRun> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const take = (list: Buffer[]) => (b: Buffer) => {
      if (size < 65_536) list.push(b);
      size += b.length;
    };
    child.stdout!.on('data', take(out));
    child.stderr!.on('data', take(err));
    let timedOut = false;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal); // the whole process group: the shell and what it started
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 2_000).unref();
    }, timeoutMs);
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      clearTimeout(timer);
      resolve({
        ok: !timedOut && code === 0,
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (error ? `\n${error.message}` : ''),
      });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}
