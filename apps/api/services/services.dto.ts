import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class EnableServicesDto {
  @ApiProperty({ type: [String], example: ['SMTP', 'IMAP'], description: 'Configured services to enable the certificate for (Enable-ExchangeCertificate -Services).' })
  @IsArray() @ArrayNotEmpty() @ArrayMaxSize(32)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { each: true, message: 'each service name must be 1-32 letters, digits, "_" or "-"' })
  services!: string[];

  @ApiPropertyOptional({ default: false, description: 'Overwrite the certificate another service binding uses (Exchange: "Overwrite the existing default SMTP certificate?").' })
  @IsOptional() @IsBoolean()
  force?: boolean;
}

export class ServiceAtQuery {
  @ApiPropertyOptional({ example: '2026-03-03T12:00:00Z', description: 'Show the binding as it was at this instant, rebuilt from the log.' })
  @IsOptional() @IsISO8601({ strict: true }, { message: 'at must be an ISO 8601 date-time, e.g. 2026-03-03T12:00:00Z' })
  at?: string;
}

export class ReleaseServiceQuery {
  @ApiPropertyOptional({ description: 'Why (kept in the history).' })
  @IsOptional() @IsString() @MaxLength(512)
  reason?: string;
}

export class EnableResultDto {
  @ApiProperty() service!: string;
  @ApiProperty({ enum: ['requested', 'unchanged'], description: '`requested`: a deployment is pending (the worker deploys it); `unchanged`: already enabled or on its way.' }) outcome!: string;
  @ApiPropertyOptional({ nullable: true }) previousCertificateId!: string | null;
}

export class EnableResponse {
  @ApiProperty() certificateId!: string;
  @ApiProperty({ type: [EnableResultDto] }) services!: EnableResultDto[];
}

export class ServiceResponse {
  @ApiProperty({ example: 'SMTP' }) name!: string;
  @ApiProperty({ type: [String] }) hostNames!: string[];
  @ApiProperty({ enum: ['file', 'webhook'] }) deployer!: string;
  @ApiProperty({ enum: ['Unbound', 'Bound'] }) state!: string;
  @ApiPropertyOptional({ nullable: true, description: 'The certificate enabled for the service: id, thumbprint, notAfter, since, verified.' }) certificate!: unknown;
  @ApiPropertyOptional({ nullable: true, description: 'A deployment that was asked for and has not finished.' }) pending!: unknown;
  @ApiPropertyOptional({ nullable: true, description: 'The last failed deployment or verification: code, message, certificateId, at.' }) lastError!: unknown;
}
