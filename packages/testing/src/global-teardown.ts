import { dropDatabase } from './database.js';

export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.CTC_TEST_POSTGRES_URL;
  const template = process.env.CTC_TEST_TEMPLATE_DB;
  if (serverUrl !== undefined && template !== undefined) await dropDatabase(serverUrl, template);
  await globalThis.__ctcTestInfra?.stop();
}
