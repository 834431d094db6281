import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Listenable {
  listen(port: number, host: string, callback: (error?: Error) => void): Server;
}

/**
 * Starts an HTTP server and resolves with its actual port (port 0 picks a free one). Express 5
 * hands listen errors to the callback instead of throwing; both paths reject here, with the
 * address in the message ("port 8080 on 0.0.0.0 is already in use").
 */
export async function listen(
  app: Listenable,
  port: number,
  host: string,
): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error & { code?: string }) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use (is another instance running?)`)
          : error,
      );
    const server = app.listen(port, host, (error?: Error) => {
      if (error !== undefined) return fail(error);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
    server.once('error', fail);
  });
}
