import { z } from 'zod';
import {
  baseUrl,
  bool,
  eori,
  list,
  nonNegativeInt,
  port,
  positiveInt,
  url,
  uuid,
} from './fields.js';

// One schema per concern. Services compose the concerns they need (see services.ts); keeping the
// keys here, in one place, is what lets tests check docker-compose, .env.example and the k8s
// manifests against the real variable names.

export const telemetryConcern = z.object({
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** OTLP/HTTP endpoint for traces (e.g. http://otel-collector:4318). Unset: spans are not exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url().optional(),
  /** Share of traces sampled, 0..1. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
});

export const httpConcern = z.object({
  /** Interface the HTTP servers bind to. */
  HTTP_HOST: z.string().trim().default('0.0.0.0'),
  /**
   * Longest a client may take to send a request's headers; slower connections are answered 408
   * and closed (slow-loris). Capped at the request timeout.
   */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  /**
   * Longest a client may take to send a whole request, body included (api, worker, sandbox; the
   * receiver has its own). Generous enough for a 20 MB declaration over a slow link.
   */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(60_000),
});

export const databaseConcern = z.object({
  DATABASE_URL: url().default('postgres://postgres@127.0.0.1:5432/ctc_hub'),
  /** Connections per process. The ingest writer needs few: it commits micro-batches. */
  DATABASE_POOL_MAX: positiveInt(10),
});

export const redisConcern = z.object({
  /**
   * Redis to connect to. With REDIS_SENTINELS set, only its credentials, database number and
   * scheme (rediss: for TLS) are used; the host comes from the Sentinels.
   */
  REDIS_URL: url().default('redis://127.0.0.1:6379'),
  /**
   * Redis Sentinels (`host:port`, comma-separated) to ask for the current primary of
   * REDIS_SENTINEL_NAME; after a failover every connection follows the new primary.
   */
  REDIS_SENTINELS: list(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).default([]),
  /** The primary's name as configured in the Sentinels (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: z.string().trim().min(1).default('ctc'),
  /**
   * Redis Cluster seed nodes (`host:port`, comma-separated; a few are enough, the rest are
   * discovered). Every connection is then an ioredis Cluster client that follows slot moves and
   * failovers; credentials and scheme (rediss: for TLS) still come from REDIS_URL, whose host is
   * not used. Needs a hash-tagged QUEUE_PREFIX such as `{ctc}`. Not together with REDIS_SENTINELS.
   */
  REDIS_CLUSTER_NODES: list(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).default([]),
  /**
   * What a service does when its Redis could lose jobs it has acknowledged (no persistence, or a
   * maxmemory-policy that evicts keys). Unset means `check`: read the settings with CONFIG GET at
   * start-up and in /readyz, and refuse to start (and be not ready) unless persistence meets
   * REDIS_ACCEPTED_LOSS_SECONDS and maxmemory-policy is noeviction. `assume-durable`: for a
   * managed Redis that denies CONFIG GET, the operator states that the provider keeps what it
   * acknowledged; persistence is then not checked, the eviction policy still is where Redis shows
   * it. `allow-volatile`: run anyway, with a warning in the log and in /readyz (local development;
   * `pnpm start` sets it when unset). No written default, so a .env copied from .env.example
   * leaves `pnpm start`'s allowance in place.
   */
  REDIS_DURABILITY: z.enum(['check', 'assume-durable', 'allow-volatile']).optional(),
  /**
   * The longest stretch of acknowledged writes you accept losing if Redis or its machine crashes.
   * AOF with appendfsync everysec meets 1; appendfsync no leaves flushing to the OS (counted as
   * 30 s, Linux's default); RDB snapshots alone lose everything since the last snapshot (the
   * save rules say how long that can be: `save 300 1` is 300).
   */
  REDIS_ACCEPTED_LOSS_SECONDS: nonNegativeInt(1),
  /**
   * How long a service waits at start-up for Redis to answer before it exits non-zero, naming
   * REDIS_URL (a wrong URL is noticed at once; an orchestrator restarts the process). Once
   * started, connections retry forever.
   */
  REDIS_STARTUP_TIMEOUT_SECONDS: positiveInt(10),
  /**
   * BullMQ key prefix. Wrap it in braces (`{ctc}`) on Redis Cluster so every key of a queue
   * hashes to the same slot.
   */
  QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_{}.-]+$/, 'may contain letters, digits, _ . - { }')
    .default('ctc'),
});

export const ppnsConcern = z.object({
  /**
   * Our PPNS boxes. The receiver accepts notifications only for these (403 otherwise; empty =
   * any box), and the worker pulls each for notifications that push missed.
   */
  PPNS_BOX_IDS: list(uuid()).default([]),
});

export const receiverConcern = z.object({
  RECEIVER_PORT: port(8080),
  /** Largest notification body accepted; PPNS itself refuses bodies over 100 KB. */
  RECEIVER_MAX_BODY_BYTES: positiveInt(512 * 1024),
  /**
   * PPNS push secrets, comma-separated. Several may be active during a rotation; a signature
   * made with any of them is accepted.
   */
  PPNS_PUSH_SECRETS: list(z.string().min(1)).default([]),
  /** Turn signature checks off only for local experiments; start-up logs a warning. */
  PPNS_SIGNATURE_REQUIRED: bool(true),
  /**
   * Source addresses allowed to POST notifications (comma-separated IPs or CIDR ranges, IPv4 or
   * IPv6), e.g. the addresses HMRC publishes for PPNS. Empty: any source (the signature still
   * decides). Others get 403 before their body is read.
   */
  RECEIVER_ALLOWED_CIDRS: list(z.string().min(1)).default([]),
  /**
   * Load balancers in front of the receiver (CIDRs). Only a request arriving from one of these has
   * its X-Forwarded-For believed when checking RECEIVER_ALLOWED_CIDRS.
   */
  RECEIVER_TRUSTED_PROXY_CIDRS: list(z.string().min(1)).default([]),
  /** How long the receiver waits for Redis to accept a job before answering 503. */
  RECEIVER_ENQUEUE_TIMEOUT_MS: positiveInt(2000),
  /** Retry-After (seconds) sent with 503 when the queue is unavailable. */
  RECEIVER_RETRY_AFTER_SECONDS: positiveInt(5),
  /**
   * Longest PPNS (or anyone) may take to send a whole notification; a body trickled slower is
   * answered 408 and the connection closed. PPNS bodies are at most 100 KB.
   */
  RECEIVER_REQUEST_TIMEOUT_MS: positiveInt(10_000),
});

export const hmrcConcern = z.object({
  /** CTC Traders API base URL, e.g. https://test-api.service.hmrc.gov.uk or the local sandbox. */
  HMRC_API_BASE_URL: baseUrl(),
  /** Where users are sent to authorise us; defaults to HMRC_API_BASE_URL. */
  HMRC_AUTH_BASE_URL: baseUrl().optional(),
  /**
   * Hosts a large declaration (> 5 MB) may be uploaded to: the `uploadRequest.href` HMRC answers
   * with must be on one of them (comma-separated; `host` or `host:port` exactly, `.domain` for
   * any host under it). Empty: the upload host of HMRC's environment in HMRC_API_BASE_URL
   * (www.upscan.tax.service.gov.uk for api.service.hmrc.gov.uk,
   * www.externaltest.upscan.tax.service.gov.uk for test-api.service.hmrc.gov.uk; see
   * packages/config/src/hmrc-environments.ts), nothing for any other base URL.
   */
  HMRC_UPLOAD_HOSTS: list(
    z
      .string()
      .toLowerCase()
      .regex(
        /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
        'must be a host name, host:port or .domain',
      ),
  ).default([]),
  /**
   * Upload over plain http to an allowed host. Only for a stand-in of HMRC that itself speaks
   * http (the local sandbox, docker compose); refused while HMRC_API_BASE_URL is https.
   */
  HMRC_UPLOAD_ALLOW_HTTP: bool(false),
  HMRC_CLIENT_ID: z.string().trim().min(1),
  HMRC_CLIENT_SECRET: z.string().trim().min(1),
  /**
   * Scopes asked for when a trader connects (space or comma separated). The Guarantee Balance
   * scope needs the application to be subscribed to that API at HMRC; drop it otherwise.
   */
  HMRC_USER_SCOPES: z
    .string()
    .trim()
    .default('common-transit-convention-traders common-transit-convention-guarantee-balance')
    .transform((value) => value.split(/[\s,]+/).filter((scope) => scope.length > 0)),
  /** Must match a redirect URI registered for the application in HMRC's Developer Hub. */
  HMRC_REDIRECT_URI: url().default('http://localhost:8081/oauth/hmrc/callback'),
  /** CTC Traders API version: 2.1 for NCTS phase 5, 3.0 for phase 6; 1.0 is the retired phase 4 API. */
  CTC_API_VERSION: z.enum(['1.0', '2.0', '2.1', '3.0']).default('2.1'),
  /** Shared budget for every HMRC call from every worker replica (HMRC allows 3/s per application). */
  HMRC_RATE_LIMIT_PER_SECOND: positiveInt(3),
  /** EORI whose token is used when a notification names none and the movement is unknown. */
  HMRC_DEFAULT_EORI: eori().optional(),
  HMRC_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  /**
   * AES-256 keys for OAuth tokens at rest, comma-separated, newest first: 32 bytes each as
   * base64 or 64 hex characters. New tokens use the first; older keys only decrypt.
   */
  TOKEN_ENCRYPTION_KEYS: list(z.string().min(1)).default([]),
  /** Single-key form of TOKEN_ENCRYPTION_KEYS. */
  TOKEN_ENCRYPTION_KEY: z.string().trim().min(1).optional(),
  /** Attempts to send a declaration before it is `failed` (429s do not count). */
  SUBMIT_MAX_ATTEMPTS: positiveInt(8),
  /**
   * First retry delay of a submission; each retry doubles it (with jitter), so 8 attempts span
   * about ten minutes: long enough to ride out an HMRC incident, short of a customs deadline.
   */
  SUBMIT_BACKOFF_BASE_MS: positiveInt(5000),
});

export const workerConcern = z.object({
  /** Port of the worker's /healthz, /readyz and /metrics. */
  WORKER_PORT: port(8082),
  /**
   * Ingest jobs processed at once per worker process; they are committed in micro-batches. At
   * least twice INGEST_BATCH_SIZE, so one batch fills while another commits (at 200/200 a full
   * batch held every job and the worker waited on each commit: docs/BENCHMARKS.md §2).
   */
  INGEST_CONCURRENCY: positiveInt(400),
  /**
   * How long a job stays locked to the worker process running it (the lock is renewed every half
   * of this while the process lives), and how often stalled jobs are looked for. The jobs of a
   * process that dies (OOM, kill -9) go back to the queue within about twice this.
   */
  WORKER_JOB_LOCK_MS: positiveInt(30_000),
  /**
   * How often the outbox relay looks for declarations accepted while their job could not be
   * queued (Redis unreachable) or was lost; one is re-queued once it is twice this old, so the
   * api's own queueing is never raced.
   */
  OUTBOX_RELAY_SECONDS: positiveInt(15),
  /** Largest micro-batch committed in one transaction. */
  INGEST_BATCH_SIZE: positiveInt(200),
  /** Longest a job waits for its micro-batch to fill before it is committed anyway. */
  INGEST_BATCH_MAX_WAIT_MS: nonNegativeInt(5),
  /** Concurrent HMRC calls per worker process; the rate limit is enforced separately. */
  HMRC_CONCURRENCY: positiveInt(8),
  /** Attempts for a message fetch before it becomes a dead letter (429s do not count). */
  FETCH_MAX_ATTEMPTS: positiveInt(8),
  /** Upper bound for a message body fetched from HMRC. */
  MAX_MESSAGE_BYTES: positiveInt(20 * 1024 * 1024),
  /** Messages at least this large are parsed in a worker thread so job locks keep renewing. */
  PARSE_IN_THREAD_BYTES: positiveInt(1024 * 1024),
  /** Push is for latency, pull for completeness: turn reconciliation off only to test push alone. */
  RECONCILE_ENABLED: bool(true),
  /** How often the CTC sweep asks HMRC for movements updated since the last sweep. */
  RECONCILE_INTERVAL_SECONDS: positiveInt(60),
  /** How often each PPNS box is pulled; HMRC asks for no more than once every 10 seconds. */
  PPNS_PULL_INTERVAL_SECONDS: z.coerce.number().int().min(10).default(10),
  /**
   * Shortest time between two GETs of one PPNS box's notification list, from any replica,
   * measured between the requests actually leaving. HMRC: "call the endpoint no more than once
   * every 10 seconds"; every page and status of a pull is a call. 250 ms of margin covers the
   * transit jitter to HMRC. Less than 10,000 only against a stand-in of HMRC (tests).
   */
  PPNS_LIST_MIN_GAP_MS: positiveInt(10_250),
  /**
   * How often the reconcile tick runs (one BullMQ job scheduler for the whole cluster). The tick
   * only decides what is due; the two intervals above say how often a pull or sweep really runs.
   */
  RECONCILE_TICK_SECONDS: positiveInt(5),
  /**
   * How far back the first pull or sweep of a new scope (a PPNS box, or one trader's departures
   * or arrivals) looks; later runs start from the scope's mark. HMRC keeps movements 60 days and
   * notifications up to 30; a day covers an outage at go-live without re-reading months.
   */
  RECONCILE_INITIAL_LOOKBACK_HOURS: positiveInt(24),
  /**
   * Each pull and sweep starts this far before where the last one ended, so clock skew and
   * updates in flight at the boundary are covered: duplicates are harmless, gaps are not.
   */
  RECONCILE_OVERLAP_SECONDS: positiveInt(120),
  /**
   * Notifications and messages younger than this are left to push (and to the next run), so
   * reconciliation does not race a push in flight and count it as recovered. At most the overlap.
   */
  RECONCILE_GRACE_SECONDS: nonNegativeInt(30),
  /**
   * Longest a sweep's check of one movement waits for the PPNS pull to cover the movement's last
   * update before it lists the movement's messages anyway (a pull that keeps failing). PPNS
   * re-pushes an undelivered notification every 5 minutes; until the box is pulled or re-pushed,
   * listing the messages would only find what PPNS is about to deliver. 0: never wait.
   */
  RECONCILE_BOX_WAIT_SECONDS: nonNegativeInt(300),
  /** PPNS list calls (up to 100 notifications each) per status in one pull; the rest waits. */
  PPNS_PULL_MAX_PAGES: positiveInt(10),
  /** Notifications, messages and events are kept this long (HMRC keeps movements 60 days). */
  RETENTION_DAYS: positiveInt(400),
  /** Internal URLs that receive change-feed events as Standard Webhooks (comma-separated). */
  EVENT_WEBHOOK_URLS: list(url()).default([]),
  /** Standard Webhooks signing secret, `whsec_` + base64; required when EVENT_WEBHOOK_URLS is set. */
  EVENT_WEBHOOK_SECRET: z.string().trim().min(1).optional(),
  /**
   * POSTs of one event before it becomes a `webhook` dead letter and the URL moves on to the next
   * event. Events go out in feed order, so while one is retried the URL's later events wait:
   * 8 attempts from a 1 s base ride out a redeploy of the receiver (about two minutes) without
   * holding the feed back for long.
   */
  EVENT_WEBHOOK_MAX_ATTEMPTS: positiveInt(8),
  /** First retry delay of a webhook POST; each retry doubles it (with jitter), capped at 60 s. */
  EVENT_WEBHOOK_BACKOFF_BASE_MS: positiveInt(1000),
  /** How long one webhook POST may take before it counts as failed. */
  EVENT_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  /** Dead letters re-queued per second by a bulk replay (no replay storms). */
  REPLAY_RATE_PER_SECOND: positiveInt(20),
});

/**
 * The PPNS relay (issue 12 §3): notifications re-pushed to trader software that consumes PPNS,
 * with PPNS's own retry rules. Read by the worker (delivery) and the api (callback validation).
 */
export const relayConcern = z.object({
  /**
   * How long a failed push waits before the next attempt. PPNS's retry job runs every 5 minutes
   * and re-pushes every PENDING notification whose retry time has passed; so do we.
   */
  RELAY_RETRY_INTERVAL_MS: positiveInt(300_000),
  /**
   * How long a notification is retried before it is marked FAILED and becomes a `relay` dead
   * letter: PPNS gives up 6 hours after the notification was created.
   */
  RELAY_RETRY_WINDOW_SECONDS: positiveInt(21_600),
  /** How long one push may take before it counts as failed. */
  RELAY_PUSH_TIMEOUT_MS: positiveInt(30_000),
  /** Pushes in flight at once per worker process (PPNS's retry job runs 10 in parallel). */
  RELAY_PARALLELISM: positiveInt(10),
  /** How often the worker looks for new notifications to relay and for retries that are due. */
  RELAY_POLL_MS: positiveInt(500),
  /** Relayed notifications (and their PENDING/ACKNOWLEDGED/FAILED status) are kept this long. */
  RELAY_RETENTION_DAYS: positiveInt(30),
  /** How long a consumer's callback may take to answer PPNS's challenge (PPNS allows 20 s). */
  RELAY_CHALLENGE_TIMEOUT_MS: positiveInt(20_000),
  /**
   * Accept relay callback URLs on plain http. PPNS accepts only https, and notifications carry
   * trade data; true only for a consumer on a network you trust (or tests).
   */
  RELAY_CALLBACK_ALLOW_HTTP: bool(false),
});

export const apiConcern = z.object({
  API_PORT: port(8081),
  /**
   * A read-only PostgreSQL (a streaming replica of DATABASE_URL) for the api's read routes:
   * movement and message lists and single reads, their bodies, and the change feed
   * (/v1/events and its stream). Writes, submissions, notifications, operator pages and every
   * read that must see a write just made stay on DATABASE_URL; a single read that finds nothing on
   * the replica asks DATABASE_URL before answering 404, so a client never sees a 404 for a
   * movement it has just been told about; so does a read the replica fails (it is down or
   * cancelled the query). Unset: everything on DATABASE_URL. Pool size: DATABASE_POOL_MAX.
   */
  DATABASE_READ_URL: url().optional(),
  /**
   * Open /v1/events/stream connections per api process; more are answered 503 with Retry-After.
   * A stream holds no database connection while it waits, only a socket and a little memory.
   */
  EVENT_STREAM_MAX_CLIENTS: positiveInt(200),
  /**
   * Open /v1/events/stream connections per API key and api process, so one key cannot take every
   * slot; more from that key are answered 429 with Retry-After. 0 turns the per-key limit off.
   */
  EVENT_STREAM_MAX_CLIENTS_PER_KEY: nonNegativeInt(20),
  /** Comment lines sent on an idle event stream so proxies and clients see it is alive. */
  EVENT_STREAM_HEARTBEAT_SECONDS: positiveInt(15),
  /**
   * API keys, comma-separated. Each entry is `key` (all EORIs), `key:*`, or `key:EORI1|EORI2` to
   * limit the key to those traders. A key may be given as `sha256:<hex>` to keep it out of env.
   */
  API_KEYS: list(z.string().min(1)).refine(
    (keys) => keys.length > 0,
    'at least one key is required',
  ),
  /** Lifetime of the `state` of an OAuth connect flow. */
  OAUTH_STATE_TTL_SECONDS: positiveInt(600),
  /** Largest declaration accepted; above HMRC's 5,000,000-byte small route it goes the large route. */
  SUBMISSION_MAX_BYTES: positiveInt(20 * 1024 * 1024),
  /**
   * Declarations one API key may have waiting to be sent to HMRC (queued or sending) at once,
   * across replicas; a new one beyond it is 429 KEY_LIMIT_REACHED and not stored. All tenants
   * share the application's 3 requests/s, declarations first: 100 is about 35 s of the budget.
   * 0 turns it off.
   */
  SUBMISSION_MAX_IN_FLIGHT_PER_KEY: nonNegativeInt(100),
  /**
   * How long a POST on the HMRC-compatible write routes (/customs/transits/movements/…) waits for
   * HMRC's answer to the declaration before answering 504 GATEWAY_TIMEOUT, as HMRC's gateway does
   * when its backend is slow. The declaration stays queued; the same request sent again returns
   * HMRC's answer once it is known (never a second declaration).
   */
  HMRC_COMPAT_WAIT_MS: positiveInt(25_000),
  /**
   * The api's address as clients reach it (e.g. https://ctc-hub.example.com), for links the api
   * hands out that must be absolute: the upload form of HMRC's large-message route. Unset: taken
   * from the request (its Host header, http or https as received).
   */
  API_PUBLIC_URL: baseUrl().optional(),
  /** Worker threads validating declarations against the NCTS schemas. */
  VALIDATION_THREADS: positiveInt(1),
  /** bull-board at /admin/queues may retry, remove and promote jobs only when true. */
  ADMIN_QUEUE_WRITE: bool(false),
  /**
   * Requests per second each API key may make, on average, across all api replicas (a token
   * bucket in Redis); beyond it 429 with Retry-After. 0 turns the limit off.
   */
  API_RATE_LIMIT_PER_SECOND: nonNegativeInt(100),
  /** How many requests a key may make at once above its rate before it is limited. */
  API_RATE_LIMIT_BURST: positiveInt(200),
  /**
   * Requests one API key may have in progress at once per api process (event streams aside); more
   * are answered 429 with Retry-After. Bounds what one key holds of the process (large body
   * downloads, slow queries) however slowly it reads. 0 turns it off.
   */
  API_MAX_CONCURRENT_REQUESTS_PER_KEY: nonNegativeInt(32),
  /**
   * Dead-letter replays (single or bulk) one API key may have running at once; beyond it 429
   * KEY_LIMIT_REACHED. Running replays share REPLAY_RATE_PER_SECOND in equal turns, so this is
   * what keeps one key from taking most of it. 0 turns it off.
   */
  REPLAY_MAX_RUNNING_PER_KEY: nonNegativeInt(3),
  /** How long a Guarantee Balance request waits for HMRC's answer before 504. */
  GUARANTEE_BALANCE_TIMEOUT_MS: positiveInt(30_000),
  /**
   * Seconds between two Guarantee Balance calls to HMRC for one trader (EORI) and GRN, across all
   * replicas. HMRC allows one request per minute per user and GRN and counts failed ones, so keep
   * 60 in production;
   * tests shorten it together with the sandbox's SANDBOX_BALANCE_LOCK_SECONDS.
   */
  GUARANTEE_BALANCE_WINDOW_SECONDS: positiveInt(60),
  /**
   * Guarantee Balance checks one API key may have waiting for HMRC (queued or calling) at once,
   * across replicas; beyond it 429 KEY_LIMIT_REACHED, and no GRN minute is spent. Every tenant
   * shares the application's 3 requests/s, at the priority of declarations. 0 turns it off.
   */
  GUARANTEE_BALANCE_MAX_IN_FLIGHT_PER_KEY: nonNegativeInt(5),
});
