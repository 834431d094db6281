import { renderEnvExample } from './env-example.js';
import { ConfigError } from './load.js';
import {
  loadApiConfig,
  loadReceiverConfig,
  loadWorkerConfig,
  serviceEnvNames,
} from './services.js';

const key = 'a'.repeat(64);
const workerEnv = {
  HMRC_API_BASE_URL: 'http://127.0.0.1:8090/',
  HMRC_CLIENT_ID: 'id',
  HMRC_CLIENT_SECRET: 'secret',
  TOKEN_ENCRYPTION_KEY: key,
};

function problems(load: () => unknown): Record<string, string> {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return Object.fromEntries(
      (error as ConfigError).issues.map((issue) => [issue.variable, issue.problem]),
    );
  }
  throw new Error('expected a ConfigError');
}

describe('service configuration', () => {
  it('names a missing required variable', () => {
    expect(problems(() => loadApiConfig({ ...workerEnv }))).toEqual({ API_KEYS: 'is required' });
  });

  it('names each invalid variable with the reason', () => {
    const found = problems(() =>
      loadReceiverConfig({
        PPNS_PUSH_SECRETS: 's',
        RECEIVER_PORT: 'eighty',
        PPNS_BOX_IDS: 'not-a-uuid',
      }),
    );
    expect(Object.keys(found).sort()).toEqual(['PPNS_BOX_IDS.0', 'RECEIVER_PORT']);
    expect(found['PPNS_BOX_IDS.0']).toBe('must be a UUID');
  });

  it('requires a push secret while signatures are required, and not otherwise', () => {
    expect(problems(() => loadReceiverConfig({}))).toHaveProperty('PPNS_PUSH_SECRETS');
    expect(loadReceiverConfig({ PPNS_SIGNATURE_REQUIRED: 'false' }).PPNS_PUSH_SECRETS).toEqual([]);
  });

  it('refuses an encryption key that is not 32 bytes', () => {
    expect(
      problems(() => loadWorkerConfig({ ...workerEnv, TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' })),
    ).toEqual({
      TOKEN_ENCRYPTION_KEY: 'every key must be 32 bytes, as base64 or 64 hex characters',
    });
    expect(
      problems(() => loadWorkerConfig({ ...workerEnv, TOKEN_ENCRYPTION_KEY: undefined })),
    ).toHaveProperty('TOKEN_ENCRYPTION_KEY');
  });

  it('applies defaults, trims the base URL and treats empty values as unset', () => {
    const config = loadWorkerConfig({ ...workerEnv, INGEST_BATCH_SIZE: '' });
    expect(config.HMRC_API_BASE_URL).toBe('http://127.0.0.1:8090');
    expect(config.INGEST_BATCH_SIZE).toBe(200);
    expect(config.CTC_API_VERSION).toBe('2.1');
    expect(config.HMRC_RATE_LIMIT_PER_SECOND).toBe(3);
    expect(config.MAX_MESSAGE_BYTES).toBe(20 * 1024 * 1024);
  });

  it('asks for both trader scopes by default and accepts a narrower list', () => {
    expect(loadWorkerConfig(workerEnv).HMRC_USER_SCOPES).toEqual([
      'common-transit-convention-traders',
      'common-transit-convention-guarantee-balance',
    ]);
    expect(
      loadWorkerConfig({ ...workerEnv, HMRC_USER_SCOPES: 'common-transit-convention-traders' })
        .HMRC_USER_SCOPES,
    ).toEqual(['common-transit-convention-traders']);
  });

  it('keeps test-only relaxations away from HMRC itself', () => {
    const hmrc = { ...workerEnv, HMRC_API_BASE_URL: 'https://api.service.hmrc.gov.uk' };
    expect(problems(() => loadWorkerConfig({ ...hmrc, HMRC_UPLOAD_ALLOW_HTTP: 'true' }))).toEqual({
      HMRC_UPLOAD_ALLOW_HTTP:
        'may be true only against a stand-in of HMRC on plain http (HMRC_API_BASE_URL)',
    });
    expect(
      problems(() =>
        loadWorkerConfig({
          ...hmrc,
          HMRC_API_BASE_URL: 'https://test-api.service.hmrc.gov.uk',
          PPNS_LIST_MIN_GAP_MS: '2000',
        }),
      ),
    ).toEqual({
      PPNS_LIST_MIN_GAP_MS:
        'must be at least 10000 against HMRC (one list call per box every 10 seconds)',
    });
    // HMRC's rule by default; shorter (and http uploads) only against a stand-in.
    expect(loadWorkerConfig(hmrc).PPNS_LIST_MIN_GAP_MS).toBeGreaterThanOrEqual(10_000);
    const standIn = loadWorkerConfig({
      ...workerEnv,
      PPNS_LIST_MIN_GAP_MS: '500',
      HMRC_UPLOAD_ALLOW_HTTP: 'true',
      HMRC_UPLOAD_HOSTS: 'Localhost:8091, .upscan.example',
    });
    expect(standIn.PPNS_LIST_MIN_GAP_MS).toBe(500);
    expect(standIn.HMRC_UPLOAD_HOSTS).toEqual(['localhost:8091', '.upscan.example']);
  });

  it('refuses upload hosts that are URLs or carry paths or credentials', () => {
    for (const value of ['https://www.upscan.tax.service.gov.uk', 'a.example/x', 'u@a.example'])
      expect(problems(() => loadWorkerConfig({ ...workerEnv, HMRC_UPLOAD_HOSTS: value }))).toEqual({
        'HMRC_UPLOAD_HOSTS.0': 'must be a host name, host:port or .domain',
      });
  });

  it('lists the variables each service reads', () => {
    expect(serviceEnvNames.receiver).toContain('PPNS_PUSH_SECRETS');
    expect(serviceEnvNames.receiver).not.toContain('HMRC_CLIENT_SECRET');
    expect(serviceEnvNames.worker).toEqual(
      expect.arrayContaining(['HMRC_RATE_LIMIT_PER_SECOND', 'INGEST_BATCH_SIZE', 'REDIS_URL']),
    );
  });
});

// The committed file's check (it also holds the HMRC sandbox's settings) is in
// tests/env-example.test.ts.
describe('.env.example', () => {
  it('lists every variable of every service with a comment', () => {
    const text = renderEnvExample();
    const names = new Set(Object.values(serviceEnvNames).flat());
    for (const name of names) {
      const index = text
        .split('\n')
        .findIndex(
          (line) => line === `${name}=` || line.startsWith(`${name}=`) || line === `# ${name}=`,
        );
      expect([name, index >= 0]).toEqual([name, true]);
    }
  });
});
