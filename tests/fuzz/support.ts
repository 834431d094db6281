import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { connect } from 'node:net';

/** What a hostile-input test got back. `json` is the parsed body when it was JSON. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body in chunks without a Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

/**
 * One HTTP request with node:http (not fetch, which normalises headers and bodies), on a fresh
 * connection so one case cannot leave another's socket in a strange state.
 */
export function rawRequest(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? Buffer.from(options.body, 'utf8')
        : options.body;
  const headers: Record<string, string> = { connection: 'close', ...options.headers };
  if (body !== undefined && !options.chunked && headers['content-length'] === undefined) {
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: options.method ?? 'POST', headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (/json/.test(String(response.headers['content-type'] ?? ''))) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      },
    );
    // The server may answer (413, 415) and close before it has read the whole body.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') {
        resolve({ status: 0, headers: {}, text: error.code, json: undefined });
      } else {
        reject(error);
      }
    });
    if (body !== undefined) {
      if (options.chunked) {
        for (let offset = 0; offset < body.length; offset += 64 * 1024) {
          request.write(body.subarray(offset, offset + 64 * 1024));
        }
      } else {
        request.write(body);
      }
    }
    request.end();
  });
}

export interface SocketExchange {
  /** Everything the server wrote before it closed the connection. */
  response: string;
  /** Status of the first response line, 0 when the server sent nothing. */
  status: number;
  json: any;
  /** True when the server closed the connection (false: we gave up waiting). */
  closedByServer: boolean;
  elapsedMs: number;
}

/**
 * Writes raw bytes to a server, optionally trickling `trickle` one piece every `intervalMs`
 * (slow-loris), and collects what the server answers until it closes the connection or
 * `giveUpMs` passes.
 */
export function socketExchange(
  url: string,
  {
    head,
    trickle = [],
    intervalMs = 200,
    giveUpMs = 15_000,
  }: {
    head: string | Buffer;
    trickle?: (string | Buffer)[];
    intervalMs?: number;
    giveUpMs?: number;
  },
): Promise<SocketExchange> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (closedByServer: boolean) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      const response = Buffer.concat(received).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
      const bodyStart = response.indexOf('\r\n\r\n');
      let json: unknown;
      try {
        json = bodyStart === -1 ? undefined : JSON.parse(response.slice(bodyStart + 4));
      } catch {
        json = undefined;
      }
      resolve({ response, status, json, closedByServer, elapsedMs: Date.now() - started });
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(head);
      const pieces = [...trickle];
      timer = setInterval(() => {
        const piece = pieces.shift();
        if (piece === undefined) {
          clearInterval(timer);
          return;
        }
        if (!socket.destroyed) socket.write(piece);
      }, intervalMs);
    });
  });
}

export interface OutboundRequest {
  origin: string;
  path: string;
}

/**
 * Records every HTTP request this process starts, through undici (fetch and the HMRC client) or
 * node:http, via their diagnostics channels: the proof that a hostile messageUri made no request
 * anywhere, whichever client would have made it.
 */
export function recordOutboundRequests(): { requests: OutboundRequest[]; stop: () => void } {
  const requests: OutboundRequest[] = [];
  const onUndici = (message: unknown) => {
    const request = (message as { request: { origin: string | URL; path: string } }).request;
    requests.push({ origin: String(request.origin), path: request.path });
  };
  const onHttp = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const host = request.getHeader('host') ?? request.host;
    requests.push({ origin: `${request.protocol}//${String(host)}`, path: request.path });
  };
  subscribe('undici:request:create', onUndici);
  subscribe('http.client.request.start', onHttp);
  return {
    requests,
    stop: () => {
      unsubscribe('undici:request:create', onUndici);
      unsubscribe('http.client.request.start', onHttp);
    },
  };
}
