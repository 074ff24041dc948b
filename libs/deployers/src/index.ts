export * from './redact';
export * from './file/file.deployer';
export * from './webhook/webhook.deployer';
export * from './verify/tls-probe';
export * from './service-targets.adapter';
