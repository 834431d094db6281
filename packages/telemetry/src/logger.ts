import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Field paths that must never reach a log line. Code should not log these in the first place;
 * this list is the second line of defence (pino replaces the values with "[redacted]").
 */
const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-hub-signature"]',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'client_secret',
  'clientSecret',
  'accessCode',
  'pushSecret',
  'secret',
  'apiKey',
  '*.authorization',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.clientSecret',
  '*.accessCode',
  '*.pushSecret',
  '*.secret',
  '*.apiKey',
];

let sharedDestination: DestinationStream | undefined;

export interface LoggerOptions {
  /** Service name, added to every line as `service`. */
  service: string;
  level?: string;
  /** Where lines go; defaults to an asynchronous stdout writer shared by the process. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  // Asynchronous stdout writes keep logging off the request path; flushLogs() drains on shutdown.
  sharedDestination ??= pino.destination({ dest: 1, sync: false, minLength: 0 });
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? sharedDestination,
  );
}

/** Writes out buffered log lines; call before the process exits. */
export function flushLogs(): void {
  const destination = sharedDestination as
    (DestinationStream & { flushSync?: () => void }) | undefined;
  try {
    destination?.flushSync?.();
  } catch {
    // flushSync throws if the stream is not ready yet (nothing written): nothing to flush.
  }
}
