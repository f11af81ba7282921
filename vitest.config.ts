import { readdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;

// Tests run on sources: each `@warden/<lib>` resolves to its src/index.ts, so no build is needed
// for unit and integration tests (e2e tests that spawn processes use the built dist/).
const alias = {
  ...Object.fromEntries(
    readdirSync(resolve(root, 'libs')).map((lib) => [
      `@warden/${lib}`,
      resolve(root, 'libs', lib, 'src/index.ts'),
    ]),
  ),
  '@warden/support-triage': resolve(root, 'examples/support-triage/workflow/src/index.ts'),
};

const project = (name: string, dir: string) => ({
  extends: true as const,
  test: {
    name,
    include: [`${dir}/**/*.spec.ts`],
  },
});

const projects = [
  ...readdirSync(resolve(root, 'libs')).map((lib) => project(lib, `libs/${lib}`)),
  ...readdirSync(resolve(root, 'apps')).map((app) => project(app, `apps/${app}`)),
  project('helpdesk', 'examples/support-triage/helpdesk'),
  project('support-triage', 'examples/support-triage/workflow'),
  project('golden', 'test/golden'),
  ...(existsSync(resolve(root, 'test/e2e')) ? [project('e2e', 'test/e2e')] : []),
];

export default defineConfig({
  plugins: [swc.vite()],
  resolve: { alias },
  test: {
    projects,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share two cores with NATS and chDB: a few files at a time is faster than many.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
