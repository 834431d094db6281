import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@ctc-hub/telemetry';
import { loadSandboxConfig } from './config.js';
import { startSandbox, type SandboxHandle } from './start.js';

/**
 * Shared by the sandbox's tests (not exported from the package): a sandbox on port 0 and a
 * tiny PPNS callback receiver that records the raw bytes of every push.
 */

export interface ReceivedPush {
  raw: Buffer;
  headers: http.IncomingHttpHeaders;
  envelope: Record<string, unknown>;
  /** The CTC payload, parsed from the envelope's `message` string. */
  payload: Record<string, unknown>;
  at: number;
}

export class CallbackReceiver {
  readonly pushes: ReceivedPush[] = [];
  /** Status for the next pushes, in order; then `defaultStatus`. */
  readonly statuses: number[] = [];
  defaultStatus = 200;
  /** When true, pushes are read but never answered (the sandbox's push timeout must fire). */
  hang = false;
  /** How the receiver answers a PPNS challenge GET (default: correctly). */
  challengeAnswer: (challenge: string) => { status: number; body: string } = (challenge) => ({
    status: 200,
    body: JSON.stringify({ challenge }),
  });
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      if (request.method === 'GET') {
        const challenge =
          new URL(request.url ?? '/', 'http://x').searchParams.get('challenge') ?? '';
        const answer = this.challengeAnswer(challenge);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        const envelope = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        const payload = JSON.parse(String(envelope.message)) as Record<string, unknown>;
        this.pushes.push({ raw, headers: request.headers, envelope, payload, at: Date.now() });
        if (this.hang) return;
        response.writeHead(this.statuses.shift() ?? this.defaultStatus).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/ppns/callback`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }
}

export async function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface TestSandbox extends SandboxHandle {
  receiver: CallbackReceiver;
  /** A user token (EORI GB123456789000 unless given) with the CTC and balance scopes. */
  token(eori?: string): string;
  close(): Promise<void>;
}

export async function startTestSandbox(env: Record<string, string> = {}): Promise<TestSandbox> {
  const receiver = await new CallbackReceiver().start();
  const config = loadSandboxConfig({
    SANDBOX_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    SANDBOX_CALLBACK_URL: receiver.url,
    // Tests make many calls quickly; the rate-limit test lowers this again.
    SANDBOX_RATE_LIMIT_PER_SECOND: '10000',
    SANDBOX_NCTS_STEP_MS: '10',
    SANDBOX_PUSH_RETRY_INTERVAL_MS: '50',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const sandbox = await startSandbox(config, {
    skipTelemetry: true,
    logger: createLogger({ service: 'hmrc-sandbox-test', level: 'silent' }),
  });
  return {
    ...sandbox,
    receiver,
    token: (eori = 'GB123456789000') => sandbox.controls.issueToken({ eori }).access_token,
    close: async () => {
      await sandbox.stop();
      await receiver.stop();
    },
  };
}

export const ctcJson = 'application/vnd.hmrc.2.1+json';
