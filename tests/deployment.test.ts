// Risk retired: docker-compose drifting from the services' real settings (a renamed variable or
// port silently ignored in a container).
import { readFileSync } from 'node:fs';
import {
  receiverConcern,
  apiConcern,
  databaseConcern,
  serviceEnvNames,
  telemetryConcern,
  workerConcern,
} from '@ctc-hub/config';
import { sandboxConcern, sandboxEnvNames } from '@ctc-hub/hmrc-sandbox';
import { repoRoot } from '@ctc-hub/testing';
import { parse } from 'yaml';

interface ComposeService {
  build?: { dockerfile?: string; target?: string };
  environment?: Record<string, string>;
  ports?: string[];
}

const compose = parse(readFileSync(`${repoRoot}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(`${repoRoot}infra/Dockerfile`, 'utf8');

const defaultPort = (
  schema: { shape: Record<string, { safeParse: (v: unknown) => { data?: unknown } }> },
  key: string,
) => Number(schema.shape[key]!.safeParse(undefined).data);

const services = {
  receiver: {
    names: serviceEnvNames.receiver,
    port: defaultPort(receiverConcern as never, 'RECEIVER_PORT'),
    portVar: 'RECEIVER_PORT',
  },
  worker: {
    names: serviceEnvNames.worker,
    port: defaultPort(workerConcern as never, 'WORKER_PORT'),
    portVar: 'WORKER_PORT',
  },
  api: {
    names: serviceEnvNames.api,
    port: defaultPort(apiConcern as never, 'API_PORT'),
    portVar: 'API_PORT',
  },
  'hmrc-sandbox': {
    names: sandboxEnvNames,
    port: defaultPort(sandboxConcern as never, 'SANDBOX_PORT'),
    portVar: 'SANDBOX_PORT',
  },
};

describe('docker-compose.yml', () => {
  it.each(Object.entries(services))(
    '%s reads only variables its config schema knows',
    (name, expected) => {
      const service = compose.services[name];
      expect(service).toBeDefined();
      const unknown = Object.keys(service!.environment ?? {}).filter(
        (variable) => !expected.names.includes(variable),
      );
      expect(unknown).toEqual([]);
    },
  );

  it.each(Object.entries(services))(
    '%s publishes the port its config listens on',
    (name, expected) => {
      const service = compose.services[name]!;
      const containerPort = Number(service.environment?.[expected.portVar] ?? expected.port);
      expect(service.ports?.map((mapping) => Number(mapping.split(':').at(-1)))).toContain(
        containerPort,
      );
    },
  );

  it('builds every service from a target that exists in infra/Dockerfile', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build === undefined) continue;
      expect([name, service.build.dockerfile]).toEqual([name, 'infra/Dockerfile']);
      expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${service.build.target}$`, 'm'));
    }
  });

  it('builds production targets from `pnpm build` alone and the sandbox apart', () => {
    // Each stage's base and the COPY --from lines of it and every stage it is built on.
    const stages = new Map<string, { base: string; body: string }>();
    for (const match of dockerfile.matchAll(
      /^FROM (\S+) AS (\S+)\n([\s\S]*?)(?=^FROM |(?![\s\S]))/gm,
    )) {
      stages.set(match[2]!, { base: match[1]!, body: match[3]! });
    }
    const copiedInto = (target: string): string[] => {
      const stage = stages.get(target);
      if (stage === undefined) return [];
      const copies = [...stage.body.matchAll(/^COPY --from=(\S+) (?:--chown=\S+ )?(\S+)/gm)];
      return [...copiedInto(stage.base), ...copies.map((copy) => `${copy[1]} ${copy[2]}`)];
    };
    for (const target of ['receiver', 'worker', 'api', 'migrate']) {
      expect([target, copiedInto(target).sort()]).toEqual([
        target,
        ['build /app/dist', 'prod-deps /app/node_modules'],
      ]);
    }
    expect(stages.get('build')!.body).toMatch(/pnpm build$/m);
    expect(stages.get('build')!.body).not.toMatch(/build:sandbox/);
    expect(copiedInto('hmrc-sandbox').sort()).toEqual([
      'prod-deps /app/node_modules',
      'sandbox-build /app/dist-sandbox',
    ]);
    expect(stages.get('sandbox-build')!.body).toMatch(/pnpm build:sandbox$/m);
  });

  it('runs migrations with database settings only', () => {
    const allowed = [
      ...Object.keys(databaseConcern.shape),
      ...Object.keys(telemetryConcern.shape),
      'REDIS_URL',
      'QUEUE_PREFIX',
    ];
    expect(
      Object.keys(compose.services.migrate?.environment ?? {}).filter(
        (name) => !allowed.includes(name),
      ),
    ).toEqual([]);
  });

  it('gives Redis AOF persistence and noeviction', () => {
    const redisConf = readFileSync(`${repoRoot}infra/redis/redis.conf`, 'utf8');
    expect(redisConf).toMatch(/^appendonly yes$/m);
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
  });

  it('gives the worker and api the same HMRC application as the sandbox', () => {
    const sandbox = compose.services['hmrc-sandbox']!.environment!;
    for (const name of ['worker', 'api']) {
      const env = compose.services[name]!.environment!;
      expect(env.HMRC_CLIENT_ID).toBe(sandbox.SANDBOX_CLIENT_ID);
      expect(env.HMRC_CLIENT_SECRET).toBe(sandbox.SANDBOX_CLIENT_SECRET);
    }
    expect(compose.services.receiver!.environment!.PPNS_PUSH_SECRETS).toBe(
      sandbox.SANDBOX_PUSH_SECRET,
    );
  });
});
