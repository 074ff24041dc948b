import { ariCertId } from '../../../crypto/src';
import { SuggestedWindow, isDomainError, validateSuggestedWindow } from '../../../domain/src';
import { parseRetryAfter, readProblem } from './acme-errors';

/** What the CA said about a certificate's renewal (RFC 9773), or why it said nothing usable. */
export type RenewalInfoResult =
  /** The CA's directory has no `renewalInfo`: it does not implement ARI; renew on certflow's own schedule. */
  | { kind: 'unsupported' }
  /** The suggested window; `retryAfterSeconds` is the CA's Retry-After (null without one), not yet limited by `nextRenewalInfoCheck`. */
  | { kind: 'window'; window: SuggestedWindow; explanationUrl: string | null; retryAfterSeconds: number | null }
  /** No usable answer (unreachable, HTTP error, malformed or invalid body): RFC 9773 §4.2 says to act as if none came. */
  | { kind: 'error'; reason: string; retryAfterSeconds: number | null };

/** How long each request (directory, renewal information) may take. */
export const RENEWAL_INFO_TIMEOUT_MS = 10_000;
/** How long a CA's directory is reused: it names the renewalInfo URL and hardly ever changes. */
export const DIRECTORY_CACHE_MS = 10 * 60_000;
/** Both documents are a few hundred bytes; a larger body is refused rather than buffered. */
const MAX_BODY_BYTES = 64 * 1024;

/** renewalInfo URL (or null: ARI not offered) by directory URL, with when to read the directory again. */
const directories = new Map<string, { renewalInfo: string | null; until: number }>();

/**
 * The CA's renewal information for a certificate (RFC 9773 §4): its directory's `renewalInfo`
 * URL (cached per directory for DIRECTORY_CACHE_MS), then an unauthenticated GET of
 * `<renewalInfo>/<certID>`. Never throws: every failure is `{ kind: 'error' }` with a reason
 * for the operator — the URL without credentials or query, the HTTP status, the CA's problem
 * detail; never the certificate or any key. A 404 means the CA does not know the certificate.
 * Retry-After is read as delay-seconds or an HTTP-date, on success and on error answers alike;
 * `nextRenewalInfoCheck` turns it into the next check.
 */
export async function fetchRenewalInfo(
  directoryUrl: string,
  certificatePem: string,
  options: { timeoutMs?: number } = {},
): Promise<RenewalInfoResult> {
  const timeoutMs = options.timeoutMs ?? RENEWAL_INFO_TIMEOUT_MS;
  const directory = await renewalInfoUrl(directoryUrl, timeoutMs);
  if ('error' in directory) return directory.error;
  if (directory.renewalInfo === null) return { kind: 'unsupported' };

  let certId: string;
  try {
    certId = ariCertId(certificatePem);
  } catch (e) {
    return { kind: 'error', reason: isDomainError(e) ? e.message : 'The certificate could not be read.', retryAfterSeconds: null };
  }
  // RFC 9773 §4.1: renewalInfo || '/' || certID; a renewalInfo URL ending in '/' must not give '//'.
  const url = `${directory.renewalInfo.replace(/\/+$/, '')}/${certId}`;
  const answer = await getJson(url, timeoutMs);
  if (answer.kind === 'failed') return { kind: 'error', reason: `Renewal information could not be fetched from ${safeUrl(url)}: ${answer.reason}`, retryAfterSeconds: null };
  const retryAfterSeconds = answer.retryAfterSeconds;
  if (answer.status === 404) {
    return { kind: 'error', reason: `The CA does not know this certificate (${certId}): ${safeUrl(url)} answered HTTP 404${problemDetail(answer.body)}.`, retryAfterSeconds };
  }
  if (answer.status < 200 || answer.status > 299) {
    return { kind: 'error', reason: `Renewal information unavailable: ${safeUrl(url)} answered HTTP ${answer.status}${problemDetail(answer.body)}.`, retryAfterSeconds };
  }
  if (answer.body === undefined) return { kind: 'error', reason: `Renewal information from ${safeUrl(url)} is not JSON.`, retryAfterSeconds };
  const body = answer.body as { suggestedWindow?: unknown; explanationURL?: unknown } | null;
  const window = body && typeof body === 'object' ? validateSuggestedWindow(body.suggestedWindow) : null;
  if (!window) {
    return {
      kind: 'error',
      reason: `Renewal information from ${safeUrl(url)} has no valid suggestedWindow (RFC 3339 start and end, end after start).`,
      retryAfterSeconds,
    };
  }
  return { kind: 'window', window, explanationUrl: httpUrl(body!.explanationURL), retryAfterSeconds };
}

/** The directory's renewalInfo URL (null when it has none), or the error to report. */
async function renewalInfoUrl(directoryUrl: string, timeoutMs: number): Promise<{ renewalInfo: string | null } | { error: RenewalInfoResult }> {
  const cached = directories.get(directoryUrl);
  if (cached && cached.until > Date.now()) return { renewalInfo: cached.renewalInfo };
  const where = `The ACME directory ${safeUrl(directoryUrl)}`;
  if (httpUrl(directoryUrl) === null) return { error: { kind: 'error', reason: 'The ACME directory URL is not an http(s) URL.', retryAfterSeconds: null } };
  const answer = await getJson(directoryUrl, timeoutMs);
  if (answer.kind === 'failed') return { error: { kind: 'error', reason: `${where} could not be fetched: ${answer.reason}`, retryAfterSeconds: null } };
  const fail = (reason: string) => ({ error: { kind: 'error' as const, reason, retryAfterSeconds: answer.retryAfterSeconds } });
  if (answer.status < 200 || answer.status > 299) return fail(`${where} answered HTTP ${answer.status}${problemDetail(answer.body)}.`);
  if (!answer.body || typeof answer.body !== 'object' || Array.isArray(answer.body)) return fail(`${where} is not a JSON object.`);
  const raw = (answer.body as { renewalInfo?: unknown }).renewalInfo;
  let renewalInfo: string | null = null;
  if (raw !== undefined && raw !== null) {
    renewalInfo = httpUrl(raw);
    if (renewalInfo === null) return fail(`${where} names a renewalInfo that is not an http(s) URL.`);
  }
  if (directories.size > 1000) directories.clear();
  directories.set(directoryUrl, { renewalInfo, until: Date.now() + DIRECTORY_CACHE_MS });
  return { renewalInfo };
}

type JsonAnswer =
  /** `body` is undefined when the body was not JSON. */
  | { kind: 'answered'; status: number; body: unknown; retryAfterSeconds: number | null }
  | { kind: 'failed'; reason: string };

/** GET with a timeout and a size limit; network failures and timeouts come back as a reason. */
async function getJson(url: string, timeoutMs: number): Promise<JsonAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json', 'user-agent': 'certflow' },
      redirect: 'follow',
    });
  } catch (e) {
    return { kind: 'failed', reason: describeFetchError(e, url, timeoutMs) };
  }
  const now = new Date();
  const retryAt = parseRetryAfter(res.headers.get('retry-after'), now);
  const retryAfterSeconds = retryAt ? Math.round((retryAt.getTime() - now.getTime()) / 1000) : null;
  let text: string;
  try {
    text = await readCapped(res, MAX_BODY_BYTES);
  } catch (e) {
    return { kind: 'failed', reason: describeFetchError(e, url, timeoutMs) };
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { kind: 'answered', status: res.status, body, retryAfterSeconds };
}

class BodyTooLarge extends Error {}

async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why a request got no answer, for a message that already names the URL. */
function describeFetchError(e: unknown, url: string, timeoutMs: number): string {
  if (e instanceof BodyTooLarge) return `the answer is larger than ${MAX_BODY_BYTES} bytes.`;
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs} ms.`;
  const code = err?.cause?.code ?? null;
  // Messages may quote the URL (fetch refuses one with credentials by quoting it): never its secrets.
  const detail = (err?.cause?.message ?? err?.message ?? 'network error').split(url).join(safeUrl(url)).replace(/\/\/[^/\s@]*@/g, '//').slice(0, 200);
  return `unreachable (${code ?? 'network error'}): ${detail}.`;
}

/** A URL fit for a message: no user name, password, query or fragment. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'an invalid URL';
  }
}

/** An absolute http(s) URL string, or null. */
function httpUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:' ? value : null;
  } catch {
    return null;
  }
}

/** ": <detail>" from a problem document (RFC 7807), or nothing. */
function problemDetail(body: unknown): string {
  const { detail } = readProblem(body);
  return detail ? `: ${detail.slice(0, 300).replace(/\s+/g, ' ')}` : '';
}
