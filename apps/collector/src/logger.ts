import type { FastifyServerOptions } from 'fastify';

import type { CollectorConfig } from './config.ts';

/**
 * Structured JSON logs. Code never logs capture content, window titles, names or tokens;
 * `redact` is the backstop in case a field slips through.
 */
export function loggerOptions(level: CollectorConfig['logLevel']): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
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
