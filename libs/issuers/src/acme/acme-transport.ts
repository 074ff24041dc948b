import * as acme from 'acme-client';
import { AcmeNetworkError, AcmeProblemError, readProblem } from './acme-errors';

/** How long one request to the CA may take before it counts as a network failure. */
export const ACME_REQUEST_TIMEOUT_MS = 30_000;

/** Retry-After headers on successful answers (a `processing` order), by URL, read once. */
const retryAfterByUrl = new Map<string, string>();

/** The Retry-After the CA sent with its last successful answer for this URL, if any (read once). */
export function takeRetryAfter(url: string): string | null {
  const value = retryAfterByUrl.get(url) ?? null;
  retryAfterByUrl.delete(url);
  return value;
}

let installed = false;

/**
 * acme-client sends every request through one shared axios instance whose interceptor retries
 * 429 and 5xx answers by *sleeping* (up to five times, 5 s and more each) and turns every other
 * error into a plain message without status, type or Retry-After. An issuer step must return
 * quickly and let certflow wait on a durable timer, so this replaces that interceptor (once per
 * process) with one that sleeps never and throws typed errors: AcmeNetworkError when the CA is
 * unreachable, AcmeProblemError for every 4xx and 5xx answer except `badNonce`
 * (which acme-client retries itself, at once, with the fresh nonce from the answer).
 */
export function installAcmeTransport(): void {
  if (installed) return;
  installed = true;
  const instance = acme.axios;
  instance.defaults.timeout = ACME_REQUEST_TIMEOUT_MS;
  instance.interceptors.response.clear();
  // acme-client's request interceptor stays: it makes every answer arrive here as an error.
  instance.interceptors.response.use(undefined, (error: { config?: unknown; response?: AxiosLikeResponse; code?: string; message?: string }) => {
    if (!error?.config) return Promise.reject(error);
    const response = error.response;
    const url = String((error.config as { url?: string }).url ?? '');
    if (!response) return Promise.reject(new AcmeNetworkError(error.code ?? null, error.message ?? 'no answer', url));
    const retryAfter = headerValue(response.headers, 'retry-after');
    const { type, detail, subproblems } = readProblem(response.data);
    const isBadNonce = type === 'urn:ietf:params:acme:error:badNonce';
    if (response.status >= 400 && !isBadNonce) {
      return Promise.reject(new AcmeProblemError(response.status, type, detail ?? `HTTP ${response.status}`, retryAfter, url, subproblems));
    }
    if (retryAfter && url) {
      if (retryAfterByUrl.size > 10_000) retryAfterByUrl.clear();
      retryAfterByUrl.set(url, retryAfter);
    }
    return response;
  });
}

interface AxiosLikeResponse {
  status: number;
  data: unknown;
  headers: unknown;
}

function headerValue(headers: unknown, name: string): string | null {
  if (!headers || typeof headers !== 'object') return null;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  const value = typeof h.get === 'function' ? h.get(name) : h[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : value == null ? null : String(value);
}
