/**
 * Removes key material from text that leaves the deployer (a reload command's stderr goes into an
 * event): every PEM private key block, whatever its label, and any long base64 run that could be
 * a piece of one. Also caps the length, so a chatty command cannot bloat the log.
 */
export function redactKeyMaterial(text: string, secrets: readonly string[] = [], maxLength = 4_000): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    out = out.split(s).join('[REDACTED]');
    // The same key without its armour, line by line (a command may echo a part of the file).
    for (const line of s.split('\n')) {
      const l = line.trim();
      if (l.length >= 16 && !l.startsWith('-----')) out = out.split(l).join('[REDACTED]');
    }
  }
  out = out.replace(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[REDACTED PRIVATE KEY]');
  out = out.replace(/[A-Za-z0-9+/=]{40,}/g, '[REDACTED]');
  return out.length > maxLength ? `${out.slice(0, maxLength)}… (${out.length - maxLength} more characters)` : out;
}
