import { createTemplateDatabase } from './database.js';
import { resolveInfra, type TestInfra } from './infra.js';

// Jest global setup: find (or start) Postgres and Redis once per run, migrate a template
// database, and publish both to the test workers through the environment.
declare global {
  var __ctcTestInfra: TestInfra | undefined;
}

export default async function globalSetup(): Promise<void> {
  const infra = await resolveInfra();
  globalThis.__ctcTestInfra = infra;
  process.env.CTC_TEST_POSTGRES_URL = infra.postgresUrl;
  process.env.CTC_TEST_REDIS_URL = infra.redisUrl;
  process.env.CTC_TEST_TEMPLATE_DB = await createTemplateDatabase(infra.postgresUrl);
}
