import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, LoggerService } from '@nestjs/common';
import { Response } from 'express';
import { ConcurrencyError } from '../../../libs/application/src';
import { DomainError, DomainErrorKind } from '../../../libs/domain/src';

const STATUS: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  conflict: HttpStatus.CONFLICT,
  'not-found': HttpStatus.NOT_FOUND,
  forbidden: HttpStatus.FORBIDDEN,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Unprocessable',
  503: 'ServiceUnavailable',
};

/**
 * The one place errors become HTTP answers, always `{statusCode, code, message}`. Domain errors
 * keep their code; unexpected errors are logged by name only and answered with a generic 500,
 * so nothing internal (and never key material) leaks into a response.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: LoggerService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { statusCode, code, message, details } = this.describe(exception);
    res.status(statusCode).json({ statusCode, code, message, ...(details ? { details } : {}) });
  }

  private describe(e: unknown): { statusCode: number; code: string; message: string; details?: unknown } {
    if (e instanceof DomainError) return { statusCode: STATUS[e.kind], code: e.code, message: e.message, details: e.details };
    if (e instanceof ConcurrencyError) {
      return { statusCode: 409, code: e.code, message: 'The certificate was changed by another request at the same time; read it again and retry.' };
    }
    if (e instanceof HttpException) {
      const statusCode = e.getStatus();
      const body = e.getResponse() as string | { message?: string | string[]; code?: string };
      const raw = typeof body === 'string' ? body : body.message ?? e.message;
      const message = Array.isArray(raw) ? raw.join('; ') : raw;
      const code = typeof body === 'object' && body.code ? body.code : CODE_BY_STATUS[statusCode] ?? 'Error';
      // Nest wraps the JSON body parser's SyntaxError in a plain 400 without a code.
      if (statusCode === 400 && code === 'BadRequest' && /JSON|Unexpected token|Unexpected end/.test(message)) {
        return { statusCode, code: 'MalformedJson', message: `The request body is not valid JSON: ${message}` };
      }
      return { statusCode, code, message };
    }
    // body-parser errors (too large, malformed JSON) carry a status and a type.
    const status = (e as { status?: number; statusCode?: number })?.status ?? (e as { statusCode?: number })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (e as { type?: string }).type;
      if (type === 'entity.too.large') return { statusCode: 413, code: 'PayloadTooLarge', message: 'The request body is larger than the limit.' };
      if (type === 'entity.parse.failed' || e instanceof SyntaxError) return { statusCode: 400, code: 'MalformedJson', message: 'The request body is not valid JSON.' };
      return { statusCode: status, code: CODE_BY_STATUS[status] ?? 'BadRequest', message: (e as Error).message };
    }
    this.log.error({ msg: 'unexpected error', error: (e as Error)?.name, code: (e as { code?: string })?.code }, undefined, 'Api');
    return { statusCode: 500, code: 'InternalError', message: 'An unexpected error occurred; it has been logged.' };
  }
}
