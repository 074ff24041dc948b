import { BadRequestException, Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Request, Response } from 'express';
import { DomainError } from '../../../libs/domain/src';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { Actor, RequestActor } from '../common/request-context';
import {
  AcceptedResponse, AtQuery, CertificateListResponse, CertificateResponse, CreateCertificateDto, ExportDto, ImportExternalDto, ImportIssuedDto,
  ListCertificatesQuery, PemQuery, RemoveCertificateQuery, RenewCertificateDto,
} from './certificates.dto';
import { CertificateFilesService, ImportBody } from './certificate-files.service';
import { CertificatesService } from './certificates.service';

/** Validates a JSON body that could not go through the global pipe (the route also takes raw uploads). */
function validated<T extends object>(cls: new () => T, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException({ code: 'ValidationFailed', message: 'The body must be a JSON object.' });
  }
  const dto = plainToInstance(cls, body);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    throw new BadRequestException({
      code: 'ValidationFailed',
      message: errors.flatMap((e) => (e.constraints ? Object.values(e.constraints) : [`${e.property} is invalid`])).join('; '),
    });
  }
  return dto;
}

@ApiTags('certificates')
@ApiBearerAuth()
@Controller('certificates')
export class CertificatesController {
  constructor(
    private readonly certificates: CertificatesService,
    private readonly files: CertificateFilesService,
  ) {}

  @Post('import')
  @HttpCode(201)
  @Roles('operator')
  @ApiOperation({ summary: 'Import a certificate made elsewhere (Import-ExchangeCertificate): a PFX with its password, a certificate with a PEM private key, or a certificate alone.' })
  @ApiCreatedResponse({ type: CertificateResponse })
  async importExternal(@Body() dto: ImportExternalDto, @Actor() who: RequestActor) {
    const { id } = await this.files.importExternal(dto, who);
    return this.certificates.get(id);
  }

  @Post()
  @HttpCode(202)
  @Roles('requester', 'operator')
  @ApiOperation({ summary: 'Request a certificate (New-ExchangeCertificate). Answers at once; the worker generates the key and CSR and, for automatic providers, issues it.' })
  @ApiAcceptedResponse({ type: AcceptedResponse })
  create(@Body() dto: CreateCertificateDto, @Actor() who: RequestActor) {
    return this.certificates.request(dto, who);
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List certificates (Get-ExchangeCertificate), with filters and cursor pagination.' })
  @ApiOkResponse({ type: CertificateListResponse })
  list(@Query() q: ListCertificatesQuery) {
    return this.certificates.list(q);
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'One certificate (Get-ExchangeCertificate | fl); with ?at= as it was at that instant.' })
  @ApiOkResponse({ type: CertificateResponse })
  get(@Param('id') id: string, @Query() q: AtQuery) {
    return this.certificates.get(id, q.at);
  }

  @Get(':id/events')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The full history of the certificate: every event with position, version, metadata and chain hash.' })
  async events(@Param('id') id: string) {
    await this.certificates.get(id);
    return { items: await this.certificates.events(id) };
  }

  @Get(':id/pem')
  @Roles(...READ_ROLES)
  @Header('content-type', 'application/x-pem-file')
  @ApiProduces('application/x-pem-file')
  @ApiOperation({ summary: 'The certificate and its chain as PEM; ?include=root adds the trusted root.' })
  async pem(@Param('id') id: string, @Query() q: PemQuery): Promise<string> {
    const s = await this.certificates.state(id);
    if (!('certificate' in s) || !s.certificate) {
      throw new DomainError('NoCertificate', `Certificate ${id} is ${s.state}; no certificate has been issued.`, 'conflict');
    }
    const pems = [s.certificate.certificatePem, ...s.certificate.chainPem];
    if (q.include === 'root') {
      const evaluation = await this.certificates.evaluate(s);
      if (!evaluation?.root) throw new DomainError('NoTrustedRoot', 'The chain of this certificate does not reach a trusted root, so there is no root to include.', 'conflict');
      const norm = (p: string) => p.replace(/\s+/g, '');
      if (!pems.some((p) => norm(p) === norm(evaluation.root!))) pems.push(evaluation.root);
    }
    return pems.map((p) => p.trim() + '\n').join('');
  }

  @Post(':id/renew')
  @HttpCode(202)
  @Roles('operator', 'requester')
  @ApiOperation({ summary: 'Renew now: a new request cloned from this one (subject, names, key type, provider, services), with a new key unless reuseKey. Once issued it takes over the services and the old one becomes Superseded.' })
  @ApiAcceptedResponse({ type: AcceptedResponse })
  renew(@Param('id') id: string, @Body() dto: RenewCertificateDto, @Actor() who: RequestActor) {
    return this.certificates.renew(id, dto.reuseKey === true, who);
  }

  @Post(':id/import')
  @Roles('operator')
  @ApiOperation({ summary: 'Import the certificate the CA issued for this pending request: PEM, DER, base64, or PKCS#7 (.p7b/.p7c) with intermediates. It must match the request\'s key.' })
  @ApiConsumes('application/json', 'application/x-pem-file', 'application/pkix-cert', 'application/pkcs7-mime', 'application/octet-stream')
  @ApiBody({ type: ImportIssuedDto })
  async importIssued(@Param('id') id: string, @Req() req: Request, @Actor() who: RequestActor) {
    const raw = req.body as unknown;
    let body: ImportBody;
    if (Buffer.isBuffer(raw) || typeof raw === 'string') {
      if ((typeof raw === 'string' ? raw.length : raw.byteLength) === 0) {
        throw new BadRequestException({ code: 'EmptyBody', message: 'Send the certificate in the body (PEM, DER, base64 or PKCS#7), or JSON {"certificate": ...}.' });
      }
      body = { kind: 'raw', data: raw };
    } else body = { kind: 'json', dto: validated(ImportIssuedDto, raw) };
    const { warnings } = await this.files.importIssued(id, body, who);
    return { ...(await this.certificates.get(id)), warnings };
  }

  @Post(':id/export')
  @HttpCode(200)
  @Roles('operator')
  @ApiProduces('application/x-pkcs12')
  @ApiOperation({ summary: 'Export the certificate with its private key and chain as a PFX (AES-256-CBC, PBKDF2). Refused when the key is not exportable or absent. Audited.' })
  async export(@Param('id') id: string, @Body() dto: ExportDto, @Actor() who: RequestActor, @Res() res: Response): Promise<void> {
    await this.certificates.state(id);
    const { filename, data } = await this.files.exportPfx(id, dto, who);
    res.status(200).set({ 'content-type': 'application/x-pkcs12', 'content-disposition': `attachment; filename="${filename}"` }).send(data);
  }

  @Get(':id/csr')
  @Roles(...READ_ROLES)
  @Header('content-type', 'application/pkcs10')
  @ApiProduces('application/pkcs10')
  @ApiOperation({ summary: 'The PKCS#10 certificate request (PEM), once it has been generated.' })
  async csr(@Param('id') id: string): Promise<string> {
    const s = await this.certificates.state(id);
    if (!('csrPem' in s) || !s.csrPem) {
      throw new DomainError('NoCertificateRequest', `Certificate ${id} is ${s.state}; its request has not been generated yet.`, 'conflict');
    }
    return s.csrPem.trim() + '\n';
  }

  @Delete(':id')
  @Roles('operator')
  @ApiOperation({ summary: 'Remove the certificate (Remove-ExchangeCertificate). A Removed event; the history stays.' })
  @ApiOkResponse({ type: CertificateResponse })
  remove(@Param('id') id: string, @Query() q: RemoveCertificateQuery, @Actor() who: RequestActor) {
    return this.certificates.remove(id, q.reason ?? null, who);
  }
}
