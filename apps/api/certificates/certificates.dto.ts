import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow, ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsNumber, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength,
} from 'class-validator';
import { CERTIFICATE_STATUSES, LIFECYCLE_STATES, PROVIDERS } from '../../../libs/domain/src';

export class CreateCertificateDto {
  @ApiProperty({ enum: PROVIDERS, example: 'self-signed', description: 'Who issues the certificate. `manual`: download the CSR and import what the CA sends back.' })
  @IsIn(PROVIDERS as string[])
  provider!: string;

  @ApiProperty({ type: [String], example: ['server1.fourthcoffee.com', 'server1'], description: 'DNS names for subjectAltName; a wildcard only as the whole leftmost label.' })
  @IsArray() @ArrayNotEmpty() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(253, { each: true })
  domainNames!: string[];

  @ApiPropertyOptional({ example: 'c=US, s=MyState, l=MyCity, o=My Name, cn=mail.mitserv.net', description: 'X.500 subject as administrators type it (keys case-insensitive, s= or st= for the state, order kept); default CN = the first domain name.' })
  @IsOptional() @IsString() @MaxLength(1024)
  subject?: string;

  @ApiPropertyOptional({ enum: ['RSA', 'ECDSA'], default: 'RSA' })
  @IsOptional() @IsIn(['RSA', 'ECDSA'])
  keyAlgorithm?: 'RSA' | 'ECDSA';

  @ApiPropertyOptional({ example: 2048, description: 'RSA: 2048, 3072 or 4096 (default 2048; 1024 only self-signed with allowWeakKey). ECDSA: 256 or 384 select the curve.' })
  @IsOptional() @IsInt()
  keySize?: number;

  @ApiPropertyOptional({ enum: ['P-256', 'P-384'], description: 'ECDSA curve (default P-256).' })
  @IsOptional() @IsIn(['P-256', 'P-384'])
  curve?: 'P-256' | 'P-384';

  @ApiPropertyOptional({ default: false, description: 'Allow an RSA 1024 key: only for self-signed certificates (below every CA\'s minimum).' })
  @IsOptional() @IsBoolean()
  allowWeakKey?: boolean;

  @ApiPropertyOptional({ default: false, description: 'Whether the private key may be exported later (PFX).' })
  @IsOptional() @IsBoolean()
  privateKeyExportable?: boolean;

  @ApiPropertyOptional({ example: 'contosoinc' })
  @IsOptional() @IsString() @MaxLength(256)
  friendlyName?: string;

  @ApiPropertyOptional({ type: [String], example: ['SMTP'], description: 'Services to enable the certificate for once issued (IIS, SMTP, IMAP, POP, UM or any configured name).' })
  @IsOptional() @IsArray() @ArrayMaxSize(32) @Matches(/^[A-Za-z0-9_-]{1,32}$/, { each: true, message: 'each service name must be 1-32 letters, digits, "_" or "-"' })
  services?: string[];

  @ApiPropertyOptional({ example: 365, description: 'Validity in days; default: the provider\'s (365 for self-signed).' })
  @IsOptional() @IsInt() @Min(1) @Max(3650)
  validityDays?: number;

  @ApiPropertyOptional({ description: 'Renew automatically at the renewal time (default true; for manual, the renewal is a new request to submit).' })
  @IsOptional() @IsBoolean()
  autoRenew?: boolean;

  @ApiPropertyOptional({ oneOf: [{ type: 'string', example: 'P30D' }, { type: 'number', example: 30 }], description: 'Renew this long before expiry: an ISO 8601 duration (P30D, PT12H, P2W) or a number of days.' })
  @IsOptional() @Allow()
  renewBefore?: string | number;

  @ApiPropertyOptional({ example: 33, description: 'Or renew when this percentage of the lifetime remains (default: one third).' })
  @IsOptional() @IsNumber() @Min(0.01) @Max(99.99)
  renewBeforePercentage?: number;

  @ApiPropertyOptional({ type: [Number], example: [30, 14, 7, 3, 1], description: 'Days before expiry at which reminders go out (then daily after expiry).' })
  @IsOptional() @IsArray() @ArrayMaxSize(20) @IsInt({ each: true }) @Min(1, { each: true }) @Max(3650, { each: true })
  reminderThresholds?: number[];

  @ApiPropertyOptional({ example: 'owner@contoso.com', description: 'The owner\'s e-mail address: added to the e-mail recipients of this certificate\'s reminders.' })
  @IsOptional() @IsEmail() @MaxLength(254)
  contact?: string;
}

export class RenewCertificateDto {
  @ApiPropertyOptional({ default: false, description: 'Sign the renewal\'s CSR with the old certificate\'s key instead of a new one.' })
  @IsOptional() @IsBoolean()
  reuseKey?: boolean;
}

export class ListCertificatesQuery {
  @ApiPropertyOptional({ enum: LIFECYCLE_STATES, description: 'Lifecycle state. Removed certificates are listed only when asked for.' })
  @IsOptional() @IsIn(LIFECYCLE_STATES as string[])
  state?: string;

  @ApiPropertyOptional({ enum: CERTIFICATE_STATUSES })
  @IsOptional() @IsIn(CERTIFICATE_STATUSES as string[])
  status?: string;

  @ApiPropertyOptional({ example: 'contoso.com', description: 'This name or any name under it.' })
  @IsOptional() @IsString() @MaxLength(253)
  domain?: string;

  @ApiPropertyOptional({ example: 30 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(36500)
  expiringWithinDays?: number;

  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page.' })
  @IsOptional() @IsString() @Matches(/^[0-9]{1,19}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

export class AtQuery {
  @ApiPropertyOptional({ example: '2026-11-23T12:00:00Z', description: 'Show the certificate as it was at this instant, rebuilt from the log.' })
  @IsOptional() @IsISO8601({ strict: true }, { message: 'at must be an ISO 8601 date-time, e.g. 2026-11-23T12:00:00Z' })
  at?: string;
}

export class RemoveCertificateQuery {
  @ApiPropertyOptional({ description: 'Why it is removed (kept in the history).' })
  @IsOptional() @IsString() @MaxLength(512)
  reason?: string;
}

export class AcceptedResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: LIFECYCLE_STATES }) state!: string;
}

export class CertificateResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: LIFECYCLE_STATES }) state!: string;
  @ApiProperty({ enum: CERTIFICATE_STATUSES }) status!: string;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) statusReasons!: { code: string; message: string }[];
  @ApiProperty({ enum: PROVIDERS }) provider!: string;
  @ApiPropertyOptional({ nullable: true, description: 'SHA-1, upper-case hex without colons' }) thumbprint!: string | null;
  @ApiPropertyOptional({ nullable: true }) sha256Fingerprint!: string | null;
  @ApiProperty() subject!: string;
  @ApiPropertyOptional({ nullable: true }) issuer!: string | null;
  @ApiProperty({ type: [String] }) certificateDomains!: string[];
  @ApiProperty({ type: [String] }) domainNames!: string[];
  @ApiPropertyOptional({ nullable: true }) notBefore!: string | null;
  @ApiPropertyOptional({ nullable: true }) notAfter!: string | null;
  @ApiPropertyOptional({ nullable: true }) serialNumber!: string | null;
  @ApiProperty() publicKeySize!: number;
  @ApiProperty({ enum: ['RSA', 'ECDSA'] }) keyAlgorithm!: string;
  @ApiProperty() hasPrivateKey!: boolean;
  @ApiProperty() privateKeyExportable!: boolean;
  @ApiPropertyOptional({ nullable: true }) isSelfSigned!: boolean | null;
  @ApiPropertyOptional({ enum: ['None', 'Internal', 'ThirdParty', 'Registry', 'Unknown'], nullable: true }) rootCAType!: string | null;
  @ApiPropertyOptional({ nullable: true }) friendlyName!: string | null;
  @ApiProperty({ type: [String], description: 'Services the certificate is enabled for.' }) services!: string[];
  @ApiProperty({ type: [String] }) requestedServices!: string[];
  @ApiPropertyOptional({ nullable: true, description: 'The PKCS#10 request while the request is pending.' }) certificateRequest!: string | null;
}

export class CertificateListResponse {
  @ApiProperty({ type: [CertificateResponse] }) items!: CertificateResponse[];
  @ApiPropertyOptional({ nullable: true }) nextCursor!: string | null;
}

export class ImportIssuedDto {
  @ApiProperty({ description: 'The issued certificate: PEM, base64 DER, or a PKCS#7 (.p7b/.p7c) as PEM or base64 carrying the leaf and intermediates.' })
  @IsString() @MaxLength(5_000_000)
  certificate!: string;

  @ApiPropertyOptional({ type: [String], description: 'Extra intermediate certificates (PEM or base64 DER).' })
  @IsOptional() @IsArray() @ArrayMaxSize(10) @IsString({ each: true }) @MaxLength(1_000_000, { each: true })
  intermediates?: string[];
}

export class ImportExternalDto {
  @ApiPropertyOptional({ description: 'A PKCS#12 (.pfx/.p12) file as base64, with `password`.' })
  @IsOptional() @IsString() @MaxLength(5_000_000)
  pfx?: string;

  @ApiPropertyOptional({ description: 'The PFX password.' })
  @IsOptional() @IsString() @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'A certificate (PEM, base64 DER or PKCS#7) when no PFX is given.' })
  @IsOptional() @IsString() @MaxLength(5_000_000)
  certificate?: string;

  @ApiPropertyOptional({ description: 'Its private key as PEM (PKCS#8, PKCS#1, SEC1, or encrypted PKCS#8 with privateKeyPassword). Omit to import the certificate alone.' })
  @IsOptional() @IsString() @MaxLength(100_000)
  privateKey?: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(1024)
  privateKeyPassword?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional() @IsArray() @ArrayMaxSize(10) @IsString({ each: true }) @MaxLength(1_000_000, { each: true })
  intermediates?: string[];

  @ApiPropertyOptional({ default: false, description: 'Whether the imported private key may be exported again.' })
  @IsOptional() @IsBoolean()
  privateKeyExportable?: boolean;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(256)
  friendlyName?: string;
}

export class ExportDto {
  @ApiProperty({ enum: ['pfx'] })
  @IsIn(['pfx'])
  format!: 'pfx';

  @ApiProperty({ description: 'Password that protects the PFX (at least 8 characters).' })
  @IsString() @MinLength(8, { message: 'password must be at least 8 characters' }) @MaxLength(1024)
  password!: string;

  @ApiPropertyOptional({ default: false, description: 'Legacy encryption (3DES, SHA-1 MAC) for old Windows servers.' })
  @IsOptional() @IsBoolean()
  legacy?: boolean;
}

export class PemQuery {
  @ApiPropertyOptional({ enum: ['root'], description: '`root` appends the trusted root of the chain.' })
  @IsOptional() @IsIn(['root'])
  include?: 'root';
}

export class SelectionQuery {
  @ApiProperty({ example: 'SMTP' })
  @IsString() @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'service must be 1-32 letters, digits, "_" or "-"' })
  service!: string;

  @ApiProperty({ example: 'mail.contoso.com' })
  @IsString() @MaxLength(253)
  fqdn!: string;
}
