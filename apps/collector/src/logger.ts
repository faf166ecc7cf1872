import type { FastifyServerOptions } from 'fastify';

import type { CollectorConfig } from './config.ts';

/**
 * Structured JSON logs. Code never logs capture content, window titles, names or tokens;
 * `redact` is the backstop in case a field slips through.
 */
export function loggerOptions(
  level: CollectorConfig['logLevel'],
  stream?: { write(line: string): void },
): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.token',
        '*.enrolmentToken',
        '*.deviceCredential',
        '*.password',
        '*.context',
        '*.windowTitle',
        '*.matchedText',
        '*.loginName',
      ],
      censor: '[redacted]',
    },
  };
}
