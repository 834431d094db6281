// Risk retired: Kubernetes manifests drifting from the services (a renamed variable silently
// ignored, a probe on the wrong port or path, a Secret key nobody creates, an autoscaler aimed at
// a Deployment that does not exist, KEDA watching a Redis key BullMQ never writes). No cluster is
// needed: the manifests are parsed and checked against the config schemas, the queue catalogue,
// the Dockerfile and the worker's metric names.
import { readdirSync, readFileSync } from 'node:fs';
import {
  databaseConcern,
  loadApiConfig,
  loadReceiverConfig,
  loadWorkerConfig,
  serviceEnvNames,
  telemetryConcern,
} from '@ctc-hub/config';
import { jobs, queueNames } from '@ctc-hub/queue';
import { repoRoot } from '@ctc-hub/testing';
import { parse, parseAllDocuments } from 'yaml';

const k8sDir = `${repoRoot}infra/k8s/`;
const secretTemplateFile = 'secret.template.yaml';

// ------------------------------------------------------------------------------------------------
// Loading
// ------------------------------------------------------------------------------------------------

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: any;
}

const manifestFiles = readdirSync(k8sDir)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .sort();

function loadFile(file: string): Manifest[] {
  const documents = parseAllDocuments(readFileSync(`${k8sDir}${file}`, 'utf8'));
  return documents.map((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
    }
    return document.toJS() as Manifest;
  });
}

const byFile = new Map(manifestFiles.map((file) => [file, loadFile(file)]));
const kustomization = parse(readFileSync(`${k8sDir}kustomization.yaml`, 'utf8')) as {
  namespace: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
};
/** What `kubectl apply -k` creates (the Secret template is documentation only). */
const applied = kustomization.resources.flatMap((file) => byFile.get(file) ?? []);
const ofKind = (kind: string) => applied.filter((manifest) => manifest.kind === kind);
const named = (kind: string, name: string) =>
  ofKind(kind).find((manifest) => manifest.metadata.name === name);

const secretTemplate = byFile.get(secretTemplateFile)?.[0];
const secretName = secretTemplate?.metadata.name ?? '(missing)';
const secretKeys = Object.keys(
  (secretTemplate?.stringData ?? secretTemplate?.data ?? {}) as object,
);

const dockerfile = readFileSync(`${repoRoot}infra/Dockerfile`, 'utf8');
const runService = readFileSync(`${repoRoot}packages/telemetry/src/run-service.ts`, 'utf8');
const receiverStart = readFileSync(`${repoRoot}services/receiver/src/start.ts`, 'utf8');
const workerMetricsSource = readFileSync(
  `${repoRoot}services/worker/src/runtime/metrics.ts`,
  'utf8',
);

// ------------------------------------------------------------------------------------------------
// The services and their configuration
// ------------------------------------------------------------------------------------------------

type ServiceName = 'receiver' | 'api' | 'worker';
type Env = Record<string, string>;

const services: Record<
  ServiceName,
  { names: readonly string[]; portVar: string; load: (env: Env) => Record<string, unknown> }
> = {
  receiver: { names: serviceEnvNames.receiver, portVar: 'RECEIVER_PORT', load: loadReceiverConfig },
  api: { names: serviceEnvNames.api, portVar: 'API_PORT', load: loadApiConfig },
  worker: { names: serviceEnvNames.worker, portVar: 'WORKER_PORT', load: loadWorkerConfig },
};
const serviceNames = Object.keys(services) as ServiceName[];

/** Valid stand-ins for the Secret's values, so the real config loaders can run. */
const secretPlaceholders: Env = {
  API_KEYS: `sha256:${'ab'.repeat(32)}`,
  PPNS_PUSH_SECRETS: 'PLACEHOLDERPUSHSECRET',
  HMRC_CLIENT_ID: 'placeholder-client-id',
  HMRC_CLIENT_SECRET: 'placeholder-client-secret',
  TOKEN_ENCRYPTION_KEYS: 'cd'.repeat(32),
  DATABASE_URL: 'postgres://ctc:placeholder@postgres:5432/ctc_hub',
  REDIS_URL: 'redis://redis:6379',
  EVENT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
};

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  [key: string]: any;
}

const podSpec = (workload: Manifest) => workload.spec.template.spec as Record<string, any>;
const containersOf = (workload: Manifest) => podSpec(workload).containers as Container[];
const mainContainer = (workload: Manifest) => containersOf(workload)[0]!;

const configMapData = (name: string): Env => {
  const configMap = named('ConfigMap', name);
  if (configMap === undefined) throw new Error(`ConfigMap ${name} is not in kustomization.yaml`);
  return (configMap.data ?? {}) as Env;
};

/**
 * Every variable the container gets, with its value (Secret references become placeholders),
 * and where it came from, for error messages.
 */
function containerEnv(container: Container): { env: Env; sources: Record<string, string> } {
  const env: Env = {};
  const sources: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef !== undefined) {
      for (const [key, value] of Object.entries(configMapData(from.configMapRef.name))) {
        env[key] = String(value);
        sources[key] = `ConfigMap ${from.configMapRef.name}`;
      }
    }
    if (from.secretRef !== undefined) {
      if (from.secretRef.name !== secretName)
        throw new Error(`unknown Secret ${from.secretRef.name}`);
      for (const key of secretKeys) {
        env[key] = secretPlaceholders[key]!;
        sources[key] = `Secret ${from.secretRef.name}`;
      }
    }
  }
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configMapRef = variable.valueFrom?.configMapKeyRef;
    if (secretRef !== undefined) {
      env[variable.name] = secretPlaceholders[secretRef.key] ?? '';
      sources[variable.name] = `Secret ${secretRef.name} key ${secretRef.key}`;
    } else if (configMapRef !== undefined) {
      env[variable.name] = configMapData(configMapRef.name)[configMapRef.key] ?? '';
      sources[variable.name] = `ConfigMap ${configMapRef.name} key ${configMapRef.key}`;
    } else {
      env[variable.name] = variable.value ?? '';
      sources[variable.name] = 'env';
    }
  }
  return { env, sources };
}

const deployment = (name: ServiceName) => {
  const found = named('Deployment', name);
  if (found === undefined) throw new Error(`no Deployment ${name} in kustomization.yaml`);
  return found;
};

/** The service's configuration as the container would load it. */
const loadedConfig = (name: ServiceName) =>
  services[name].load(containerEnv(mainContainer(deployment(name))).env);

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

const podLabelsOf = (workload: Manifest) =>
  (workload.spec.template.metadata?.labels ?? {}) as Record<string, string>;

/** Resolves a probe or Service port (a number or a container port name) to a number. */
function resolvePort(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

const toBytes = (quantity: string): number => {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(quantity.trim());
  if (match === null) throw new Error(`cannot read quantity ${quantity}`);
  const units: Record<string, number> = {
    '': 1,
    k: 1e3,
    kb: 1e3,
    m: 1e6,
    mb: 1e6,
    g: 1e9,
    gb: 1e9,
    ki: 1024,
    mi: 1024 ** 2,
    gi: 1024 ** 3,
  };
  const factor = units[match[2]!.toLowerCase()];
  if (factor === undefined) throw new Error(`unknown unit in ${quantity}`);
  return Number(match[1]) * factor;
};

/** `graceMs` default of runService: how long a service may take to stop after SIGTERM. */
const shutdownGraceSeconds = (() => {
  const match = /graceMs = ([\d_]+)/.exec(runService);
  if (match === null) throw new Error('graceMs default not found in run-service.ts');
  return Number(match[1]!.replace(/_/g, '')) / 1000;
})();

const preStopSleepSeconds = (container: Container): number => {
  const command = container.lifecycle?.preStop?.exec?.command as string[] | undefined;
  if (command === undefined) return Number(container.lifecycle?.preStop?.sleep?.seconds ?? 0);
  return command[0] === 'sleep' ? Number(command[1]) : 0;
};

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

describe('infra/k8s manifests', () => {
  it('parse, and kustomization.yaml lists every manifest but the Secret template', () => {
    expect(manifestFiles.length).toBeGreaterThan(0);
    for (const [file, manifests] of byFile) {
      for (const manifest of manifests) {
        expect([file, typeof manifest.apiVersion, typeof manifest.kind]).toEqual([
          file,
          'string',
          'string',
        ]);
        expect([file, manifest.kind, typeof manifest.metadata?.name]).toEqual([
          file,
          manifest.kind,
          'string',
        ]);
      }
    }
    expect([...kustomization.resources].sort()).toEqual(
      manifestFiles.filter((file) => file !== secretTemplateFile),
    );
  });

  it('put every namespaced object in the kustomization namespace', () => {
    const namespace = named('Namespace', kustomization.namespace);
    expect(namespace).toBeDefined();
    for (const manifest of applied.filter((item) => item.kind !== 'Namespace')) {
      expect([manifest.kind, manifest.metadata.name, manifest.metadata.namespace]).toEqual([
        manifest.kind,
        manifest.metadata.name,
        kustomization.namespace,
      ]);
    }
  });

  it('has a Deployment for each of receiver, api and worker', () => {
    expect(
      ofKind('Deployment')
        .map((item) => item.metadata.name)
        .sort(),
    ).toEqual([...serviceNames].sort());
  });
});

describe.each(serviceNames)('Deployment %s', (name) => {
  const workload = deployment(name);
  const container = mainContainer(workload);
  const { env, sources } = containerEnv(container);

  it('reads only variables its config schema knows', () => {
    const unknown = Object.keys(env)
      .filter((variable) => !services[name].names.includes(variable))
      .map((variable) => `${variable} (from ${sources[variable]})`);
    expect(unknown).toEqual([]);
  });

  it('references only Secret keys that the Secret template defines', () => {
    const references = (container.env ?? []).flatMap((variable) =>
      variable.valueFrom?.secretKeyRef === undefined ? [] : [variable.valueFrom.secretKeyRef],
    );
    for (const reference of references) {
      expect([reference.name, reference.key]).toEqual([
        secretName,
        secretKeys.includes(reference.key) ? reference.key : '(not in secret.template.yaml)',
      ]);
    }
  });

  it('gets a configuration its service accepts', () => {
    expect(() => services[name].load(env)).not.toThrow();
  });

  it('runs the image built from its own infra/Dockerfile target', () => {
    const image = container.image.split('@')[0]!.split(':')[0]!.split('/').at(-1);
    expect(image).toBe(`ctc-hub-${name}`);
    expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
    expect(kustomization.images?.map((entry) => entry.name)).toContain(container.image);
  });

  it('exposes the port its config listens on (the default, or the configured value)', () => {
    const port = Number(loadedConfig(name)[services[name].portVar]);
    expect(container.ports?.map((entry) => entry.containerPort)).toEqual([port]);
    // The image's EXPOSE and HEALTHCHECK agree.
    const stage = dockerfile.split(/^FROM /m).find((part) => part.includes(`AS ${name}\n`));
    expect(stage).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'));
  });

  it('probes /healthz (startup, liveness) and /readyz (readiness) on that port', () => {
    const port = Number(loadedConfig(name)[services[name].portVar]);
    const probes = {
      startupProbe: '/healthz',
      livenessProbe: '/healthz',
      readinessProbe: '/readyz',
    };
    for (const [probe, path] of Object.entries(probes)) {
      const httpGet = container[probe]?.httpGet as { path: string; port: number | string };
      expect([probe, httpGet?.path, resolvePort(container, httpGet?.port)]).toEqual([
        probe,
        path,
        port,
      ]);
    }
  });

  it('is scraped by Prometheus on /metrics at that port', () => {
    const port = Number(loadedConfig(name)[services[name].portVar]);
    const annotations = workload.spec.template.metadata.annotations as Record<string, string>;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
  });

  it('has CPU and memory requests and limits', () => {
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        expect([kind, resource, typeof container.resources?.[kind]?.[resource]]).toEqual([
          kind,
          resource,
          'string',
        ]);
      }
    }
    expect(toBytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(
      toBytes(container.resources.requests.memory),
    );
  });

  it('runs as a non-root user with no privileges', () => {
    const pod = podSpec(workload);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    // The image's user is `node` (a name): the kubelet needs a numeric uid to verify non-root.
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const each of containersOf(workload)) {
      expect(each.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(each.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(each.securityContext?.capabilities?.drop).toContain('ALL');
      expect(each.securityContext?.privileged ?? false).toBe(false);
    }
  });

  it('gets no service-link variables (a Service `receiver` would set RECEIVER_PORT=tcp://…)', () => {
    expect(podSpec(workload).enableServiceLinks).toBe(false);
  });

  it('gives the service time to shut down gracefully after its preStop hook', () => {
    expect(podSpec(workload).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStopSleepSeconds(container) + shutdownGraceSeconds,
    );
  });

  it('selects its own pods and spreads them across nodes and zones', () => {
    const labels = podLabelsOf(workload);
    expect(matches(workload.spec.selector.matchLabels, labels)).toBe(true);
    const constraints = (podSpec(workload).topologySpreadConstraints ?? []) as {
      topologyKey: string;
      labelSelector: { matchLabels: Record<string, string> };
    }[];
    expect(constraints.map((constraint) => constraint.topologyKey).sort()).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    for (const constraint of constraints) {
      expect(matches(constraint.labelSelector.matchLabels, labels)).toBe(true);
    }
  });
});

describe('Secret template', () => {
  it('names the secrets the services read, with no values in it', () => {
    expect(secretTemplate?.kind).toBe('Secret');
    expect(kustomization.resources).not.toContain(secretTemplateFile);
    const allNames = new Set(serviceNames.flatMap((name) => services[name].names));
    expect(secretKeys.filter((key) => !allNames.has(key))).toEqual([]);
    expect(secretKeys.sort()).toEqual(Object.keys(secretPlaceholders).sort());
    for (const value of Object.values(
      (secretTemplate?.stringData ?? secretTemplate?.data ?? {}) as Env,
    )) {
      expect(value).toBe('');
    }
  });

  it('is the only place secrets come from: no ConfigMap holds a Secret key', () => {
    for (const configMap of ofKind('ConfigMap')) {
      const leaked = Object.keys(configMap.data ?? {}).filter((key) => secretKeys.includes(key));
      expect([configMap.metadata.name, leaked]).toEqual([configMap.metadata.name, []]);
    }
  });
});

describe('Services, PodDisruptionBudgets and autoscalers', () => {
  const deployments = ofKind('Deployment');
  const statefulSets = ofKind('StatefulSet');

  it('route every Service to existing pods and container ports', () => {
    for (const service of ofKind('Service')) {
      const target = [...deployments, ...statefulSets].find((workload) =>
        matches(service.spec.selector, podLabelsOf(workload)),
      );
      expect([service.metadata.name, target?.metadata.name ?? '(no pods)']).toEqual([
        service.metadata.name,
        expect.any(String),
      ]);
      expect(target).toBeDefined();
      const container = mainContainer(target!);
      for (const port of service.spec.ports as { targetPort: number | string }[]) {
        expect(container.ports?.map((entry) => entry.containerPort)).toContain(
          resolvePort(container, port.targetPort),
        );
      }
    }
    for (const name of serviceNames) expect(named('Service', name)).toBeDefined();
  });

  it('protect every Deployment with a PodDisruptionBudget that selects its pods', () => {
    for (const workload of deployments) {
      const budget = ofKind('PodDisruptionBudget').find((pdb) =>
        matches(pdb.spec.selector.matchLabels, podLabelsOf(workload)),
      );
      expect([workload.metadata.name, budget?.metadata.name]).toEqual([
        workload.metadata.name,
        expect.any(String),
      ]);
    }
    for (const pdb of ofKind('PodDisruptionBudget')) {
      expect(
        deployments.some((workload) =>
          matches(pdb.spec.selector.matchLabels, podLabelsOf(workload)),
        ),
      ).toBe(true);
    }
  });

  it('scale receiver and api on CPU with autoscaling/v2 HPAs aimed at existing Deployments', () => {
    const hpas = ofKind('HorizontalPodAutoscaler');
    for (const hpa of hpas) {
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(named('Deployment', hpa.spec.scaleTargetRef.name)).toBeDefined();
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
      expect(hpa.spec.metrics).toContainEqual(
        expect.objectContaining({
          type: 'Resource',
          resource: expect.objectContaining({ name: 'cpu' }),
        }),
      );
    }
    expect(hpas.map((hpa) => hpa.spec.scaleTargetRef.name).sort()).toEqual(['api', 'receiver']);
    // Deployments under an autoscaler leave `replicas` to it (re-applying would reset it).
    for (const workload of deployments) expect(workload.spec.replicas).toBeUndefined();
  });

  it('scale workers with a KEDA ScaledObject (and no HPA of ours competing with it)', () => {
    const scaledObjects = ofKind('ScaledObject');
    expect(scaledObjects).toHaveLength(1);
    const scaled = scaledObjects[0]!;
    expect(scaled.apiVersion).toBe('keda.sh/v1alpha1');
    expect(scaled.spec.scaleTargetRef.name).toBe('worker');
    expect(named('Deployment', scaled.spec.scaleTargetRef.name)).toBeDefined();
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled.spec.maxReplicaCount).toBeGreaterThanOrEqual(scaled.spec.minReplicaCount);
  });
});

describe('KEDA triggers', () => {
  const scaled = ofKind('ScaledObject')[0]!;
  const triggers = scaled.spec.triggers as { type: string; metadata: Record<string, string> }[];
  it("watch BullMQ's waiting list of the ingest queue under the worker's QUEUE_PREFIX", () => {
    const workerConfig = loadedConfig('worker') as { QUEUE_PREFIX: string };
    const redis = triggers.find((trigger) => trigger.type === 'redis');
    expect(redis).toBeDefined();
    // Jobs with a priority live in the `prioritized` sorted set, not in `wait`: the trigger
    // only sees ingest jobs because they have none.
    expect((jobs.ingestNotification as { priority?: number }).priority).toBeUndefined();
    expect(redis!.metadata.listName).toBe(`${workerConfig.QUEUE_PREFIX}:${queueNames.ingest}:wait`);
    expect(Number(redis!.metadata.listLength)).toBeGreaterThan(0);
    // KEDA takes host:port; it must be a Redis Service of this deployment.
    const host = redis!.metadata.address!.split(':')[0]!.split('.')[0]!;
    expect(named('Service', host)).toBeDefined();
  });

  it('query queue metrics the worker really exports, for the ingest queue', () => {
    const prometheus = triggers.filter((trigger) => trigger.type === 'prometheus');
    for (const trigger of prometheus) {
      const metrics = trigger.metadata.query!.match(/\bctc_[a-z_]+\b/g) ?? [];
      expect(metrics.length).toBeGreaterThan(0);
      for (const metric of metrics) expect(workerMetricsSource).toContain(`'${metric}'`);
      expect(trigger.metadata.query).toContain(`queue="${queueNames.ingest}"`);
    }
  });
});

describe('migration Job', () => {
  const job = named('Job', 'migrate');

  it('runs the migrate image with database settings only, as a non-root user', () => {
    expect(job).toBeDefined();
    const container = mainContainer(job!);
    expect(container.image).toBe('ctc-hub-migrate');
    expect(dockerfile).toMatch(/^FROM \S+ AS migrate$/m);
    const allowed = [...Object.keys(databaseConcern.shape), ...Object.keys(telemetryConcern.shape)];
    expect(
      Object.keys(containerEnv(container).env).filter((key) => !allowed.includes(key)),
    ).toEqual([]);
    expect(podSpec(job!).securityContext?.runAsNonRoot).toBe(true);
    expect(podSpec(job!).securityContext?.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext?.capabilities?.drop).toContain('ALL');
    expect(container.resources?.limits?.memory).toBeDefined();
  });
});

describe('Redis and PostgreSQL settings', () => {
  const directives = (text: string) =>
    new Map(
      text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => {
          const match = /^([a-z_-]+)\s*=?\s*(.*)$/.exec(line)!;
          return [match[1]!, match[2]!.trim()] as const;
        }),
    );

  it('give Redis AOF persistence, noeviction and a maxmemory below its memory limit', () => {
    const redisConf = directives(configMapData('redis-config')['redis.conf']!);
    expect(redisConf.get('appendonly')).toBe('yes');
    expect(redisConf.get('appendfsync')).toBe('everysec');
    expect(redisConf.get('maxmemory-policy')).toBe('noeviction');
    // The same choices as infra/redis/redis.conf (docker-compose).
    const composeConf = directives(readFileSync(`${repoRoot}infra/redis/redis.conf`, 'utf8'));
    for (const key of ['appendonly', 'appendfsync', 'maxmemory-policy']) {
      expect([key, redisConf.get(key)]).toEqual([key, composeConf.get(key)]);
    }
    const redis = named('StatefulSet', 'redis');
    if (redis !== undefined) {
      const limit = toBytes(mainContainer(redis).resources.limits.memory);
      expect(toBytes(redisConf.get('maxmemory')!)).toBeLessThan(limit * 0.9);
      expect(podSpec(redis).securityContext?.runAsNonRoot).toBe(true);
    }
  });

  it('carry every PostgreSQL setting of infra/postgres/postgresql.conf', () => {
    const k8sConf = directives(configMapData('postgres-settings')['postgresql.conf']!);
    const infraConf = directives(readFileSync(`${repoRoot}infra/postgres/postgresql.conf`, 'utf8'));
    expect(infraConf.size).toBeGreaterThan(0);
    for (const [key, value] of infraConf) expect([key, k8sConf.get(key)]).toEqual([key, value]);
  });

  it('allow enough PostgreSQL connections for every replica at the autoscalers maximum', () => {
    const k8sConf = directives(configMapData('postgres-settings')['postgresql.conf']!);
    const maxReplicas = (name: ServiceName) =>
      named('HorizontalPodAutoscaler', name)?.spec.maxReplicas ??
      ofKind('ScaledObject').find((item) => item.spec.scaleTargetRef.name === name)?.spec
        .maxReplicaCount;
    // The receiver's pool is fixed at one connection (its /readyz ping).
    expect(receiverStart).toMatch(/poolMax: 1,/);
    const perProcess = {
      receiver: 1,
      api: Number(loadedConfig('api').DATABASE_POOL_MAX),
      worker: Number(loadedConfig('worker').DATABASE_POOL_MAX),
    };
    const needed =
      serviceNames.reduce((sum, name) => sum + Number(maxReplicas(name)) * perProcess[name], 0) + 1; // the migration Job
    const reservedForSuperuser = 3;
    expect(Number(k8sConf.get('max_connections'))).toBeGreaterThanOrEqual(
      needed + reservedForSuperuser,
    );
  });
});

describe('NetworkPolicies', () => {
  it('open only ports the selected pods listen on', () => {
    const workloads = [...ofKind('Deployment'), ...ofKind('StatefulSet')];
    for (const policy of ofKind('NetworkPolicy')) {
      const selector = (policy.spec.podSelector?.matchLabels ?? {}) as Record<string, string>;
      const ports = ((policy.spec.ingress ?? []) as { ports?: { port: number }[] }[]).flatMap(
        (rule) => (rule.ports ?? []).map((entry) => entry.port),
      );
      if (Object.keys(selector).length === 0) {
        expect(ports).toEqual([]); // the default deny
        continue;
      }
      const selected = workloads.filter((workload) => matches(selector, podLabelsOf(workload)));
      expect([policy.metadata.name, selected.length]).toEqual([policy.metadata.name, 1]);
      const listening = mainContainer(selected[0]!).ports?.map((entry) => entry.containerPort);
      for (const port of ports) expect(listening).toContain(port);
    }
  });
});
