import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HttpTimeouts {
  /** Longest a client may take to send its headers (Node's headersTimeout). Default 10 s. */
  headersTimeoutMs?: number;
  /** Longest a client may take to send a whole request, body included. Default 60 s. */
  requestTimeoutMs?: number;
}

/**
 * Answers what Node's HTTP parser refuses before any route sees the request (a request trickled
 * past the timeouts, oversized or malformed headers) with the same `{ code, message }` JSON as
 * the routes, then closes the connection. Node's default answer has no body.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // Nothing to answer: the client is gone, or a response of ours is already on the wire.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const badHeader = headerWithControlCharacter(error);
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
        : badHeader !== undefined
          ? [
              400,
              'BAD_REQUEST',
              `the ${badHeader} header holds a character HTTP does not allow (NUL or another control character)`,
            ]
          : [400, 'BAD_REQUEST', 'the request is not valid HTTP'];
  const body = JSON.stringify({ code, message, ...(badHeader && { parameter: badHeader }) });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}

/** What HTTP forbids in a header value: control characters other than tab. */
// eslint-disable-next-line no-control-regex
const controlCharacter = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The header whose value made the parser stop (a NUL or other control byte, which HTTP forbids
 * and PostgreSQL would refuse), read from the bytes the parser was given, so the answer can name
 * it like any other bad parameter. Undefined when that cannot be told.
 */
function headerWithControlCharacter(error: Error & { code?: string }): string | undefined {
  const raw = (error as { rawPacket?: unknown }).rawPacket;
  if (error.code !== 'HPE_INVALID_HEADER_TOKEN' || !Buffer.isBuffer(raw)) return undefined;
  for (const line of raw.toString('latin1').split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && controlCharacter.test(line.slice(colon + 1)))
      return name;
  }
  return undefined;
}

/**
 * Starts an HTTP server and resolves with its actual port (port 0 picks a free one); listen
 * errors reject, with the address in the message ("port 8080 on 0.0.0.0 is already in use").
 * Clients must send their headers and their whole request within the timeouts (checked every
 * second), so a slow-loris connection is cut off instead of held open.
 */
export async function listen(
  app: RequestListener,
  port: number,
  host: string,
  timeouts: HttpTimeouts = {},
): Promise<{ server: Server; port: number }> {
  const requestTimeout = timeouts.requestTimeoutMs ?? 60_000;
  const server = createServer(
    {
      requestTimeout,
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: Math.min(timeouts.headersTimeoutMs ?? 10_000, requestTimeout),
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
    },
    app,
  );
  server.on('clientError', answerClientError);
  return new Promise((resolve, reject) => {
    const fail = (error: Error & { code?: string }) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use (is another instance running?)`)
          : error,
      );
    server.once('error', fail);
    server.listen(port, host, () => {
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
