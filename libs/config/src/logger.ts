import { LoggerService } from '@nestjs/common';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/**
 * Structured JSON logs, one object per line on stdout. Callers pass ids and codes, never key
 * material; error objects are reduced to their name, message and code.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly level: Level = 'info',
  ) {}

  private write(level: Level, message: unknown, context?: unknown, extra?: Record<string, unknown>): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), service: this.service };
    if (typeof context === 'string') line.context = context;
    if (message instanceof Error) {
      line.msg = message.message;
      line.err = { name: message.name, code: (message as { code?: string }).code };
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(line, message);
    } else {
      line.msg = String(message);
    }
    if (extra) Object.assign(line, extra);
    process.stdout.write(JSON.stringify(line) + '\n');
  }

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  info(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  // Nest passes (message, stack, context); the stack may hold data, so only its first line is kept.
  error(message: unknown, stackOrContext?: string, context?: string): void {
    const stack = context ? stackOrContext?.split('\n')[1]?.trim() : undefined;
    this.write('error', message, context ?? stackOrContext, stack ? { at: stack } : undefined);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
}
