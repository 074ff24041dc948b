import 'reflect-metadata';
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { JsonLogger, loadConfig } from '../../libs/config/src';
import { AppModule } from './app.module';
import { TokenService } from './auth/token.service';
import { ApiExceptionFilter } from './common/exception.filter';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new JsonLogger('api', config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger, bodyParser: false });
  // Certificates, PKCS#7 bundles and PFX files are small; 6 MB leaves room for base64 in JSON.
  app.useBodyParser('json', { limit: '6mb' });
  app.useBodyParser('text', { limit: '6mb', type: ['application/x-pem-file', 'text/plain'] });
  app.useBodyParser('raw', {
    limit: '6mb',
    type: ['application/pkix-cert', 'application/pkcs7-mime', 'application/x-pkcs7-certificates', 'application/x-x509-ca-cert', 'application/octet-stream'],
  });
  app.useGlobalFilters(new ApiExceptionFilter(logger));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        new BadRequestException({
          code: 'ValidationFailed',
          message: errors
            .flatMap((e) => (e.constraints ? Object.values(e.constraints) : [`${e.property} is invalid`]))
            .join('; '),
        }),
    }),
  );
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);

  const doc = new DocumentBuilder()
    .setTitle('certflow')
    .setDescription('Certificate lifecycle service: requests, CA approval flows, import, enablement, renewal, audit.')
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/openapi.json' });

  const generated = await app.get(TokenService).bootstrapAdmin(config.adminToken);
  if (generated) {
    // Printed once, at the first start of a fresh installation. Keep it: it is not stored anywhere.
    process.stdout.write(
      `\n  certflow generated an admin token (shown once):\n\n    ${generated}\n\n  Use it as "Authorization: Bearer <token>", or set CERTFLOW_ADMIN_TOKEN next time.\n\n`,
    );
  }
  await app.listen(config.port, config.host);
  logger.log({ msg: 'api listening', url: `http://${config.host}:${config.port}`, docs: `http://${config.host}:${config.port}/docs` }, 'Api');
}

main().catch((e) => {
  process.stderr.write(JSON.stringify({ level: 'error', service: 'api', msg: 'api failed to start', error: (e as Error).message }) + '\n');
  process.exit(1);
});
