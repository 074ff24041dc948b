import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JsonLogger, loadConfig } from '../../libs/config/src';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const logger = new JsonLogger('worker', loadConfig().logLevel);
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger });
  // SIGTERM/SIGINT: stop taking jobs, let running ones finish, then exit.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
}

main().catch((e) => {
  process.stderr.write(JSON.stringify({ level: 'error', service: 'worker', msg: 'worker failed to start', error: (e as Error).message }) + '\n');
  process.exit(1);
});
