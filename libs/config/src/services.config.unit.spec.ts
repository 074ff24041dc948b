import { parseServicesConfig } from './services.config';

const parse = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseServicesConfig(yaml, 'certflow.yaml', env);

describe('the services file (CERTFLOW_CONFIG)', () => {
  it('reads a file service with a preset filling in the reload command and the verify protocol', () => {
    const c = parse(`
services:
  SMTP:
    preset: postfix
    hostNames: [Mail.Contoso.com]
    certFile: /etc/postfix/certflow/smtp.crt
    keyFile: /etc/postfix/certflow/smtp.key
    verify: { host: 127.0.0.1 }
`);
    expect(c.services.get('SMTP')).toEqual({
      name: 'SMTP',
      hostNames: ['mail.contoso.com'],
      target: { deployer: 'file', certFile: '/etc/postfix/certflow/smtp.crt', keyFile: '/etc/postfix/certflow/smtp.key', chainFile: null, fullchainFile: null, reload: 'postfix reload', reloadTimeoutMs: 30_000 },
      verify: { host: '127.0.0.1', port: 25, starttls: 'smtp', serverName: 'mail.contoso.com', timeoutMs: 15_000 },
    });
  });

  it('reads a webhook service whose secret comes from the environment', () => {
    const c = parse('services:\n  PORTAL: { deployer: webhook, hostNames: [portal.contoso.com], url: "https://hooks.contoso.com/x", secretEnv: HOOK }\n', { HOOK: 'a-secret-long-enough' });
    expect(c.services.get('PORTAL')?.target).toMatchObject({ deployer: 'webhook', secret: 'a-secret-long-enough', includeKey: false, retries: 3 });
  });

  it('is empty when the file names no services', () => {
    expect(parse('').services.size).toBe(0);
  });

  it.each([
    ['a lower-case service name', 'services:\n  smtp: { hostNames: [a.b], certFile: /a, keyFile: /b }', /services\.smtp is not a service name/],
    ['a relative path', 'services:\n  SMTP: { hostNames: [a.b], certFile: a.crt, keyFile: /b }', /services\.SMTP\.certFile must be an absolute path/],
    ['a missing key file', 'services:\n  SMTP: { hostNames: [a.b], certFile: /a }', /services\.SMTP\.keyFile is required/],
    ['no host names', 'services:\n  SMTP: { certFile: /a, keyFile: /b }', /services\.SMTP\.hostNames must list/],
    ['an unknown setting', 'services:\n  SMTP: { hostNames: [a.b], certFile: /a, keyFile: /b, reloadd: x }', /services\.SMTP\.reloadd is not a setting/],
    ['an unknown preset', 'services:\n  SMTP: { preset: exim, hostNames: [a.b], certFile: /a, keyFile: /b }', /preset "exim" is unknown/],
    ['a bad STARTTLS mode', 'services:\n  SMTP: { hostNames: [a.b], certFile: /a, keyFile: /b, verify: { port: 25, starttls: lmtp } }', /verify\.starttls must be one of/],
    ['a webhook secret variable that is not set', 'services:\n  X: { deployer: webhook, hostNames: [a.b], url: "https://h/x", secretEnv: NOPE }', /names NOPE, which is not set/],
    ['invalid YAML', 'services: [', /is not valid YAML/],
  ])('refuses %s, naming the setting', (_name, yaml, message) => {
    expect(() => parse(yaml)).toThrow(message);
  });
});
