import http from 'node:http';
import https from 'node:https';

/**
 * POSTs with our own keep-alive agents (not the global fetch pool), so stop() can close every
 * connection the sandbox opened to a callback.
 */
export class CallbackClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 128 });

  /** Resolves with the HTTP status (body drained); rejects on network errors and timeouts. */
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<number> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const send = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const request = send(
        target,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          signal,
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      request.setTimeout(timeoutMs, () =>
        request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** GET with a timeout; resolves with status and body text (for the callback challenge). */
  get(
    url: string,
    timeoutMs: number,
  ): Promise<{ status: number; body: string; contentType: string | undefined }> {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? https.get : http.get;
    return new Promise((resolve, reject) => {
      const request = send(target, { headers: { accept: 'application/json' } }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // A challenge answer is tiny; refuse to buffer a large body.
          if (size > 64 * 1024) request.destroy(new Error('response too large'));
          else chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: response.headers['content-type'],
          }),
        );
        response.on('error', reject);
      });
      request.setTimeout(timeoutMs, () =>
        request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      );
      request.on('error', reject);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
