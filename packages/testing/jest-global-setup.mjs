// Jest loads global setup outside its module system (no moduleNameMapper, no ESM transform), so
// this shim loads the TypeScript implementation through tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { default: setup } = await tsImport('./src/global-setup.ts', import.meta.url);
  await setup();
}
