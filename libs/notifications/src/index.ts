export * from './notification';
export * from './webhook/webhook.channel';
export * from './email/email.channel';
export * from './log/log.channel';
export * from './router';
