// Test runner configuration: unit tests in parallel; PC/SC interop tests one file at a time against one shared pcscd.
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/interop/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          // One pcscd per machine and two vpcd readers: the files must not run at the same time.
          fileParallelism: false,
          globalSetup: ['test/support/pcscd-global-setup.ts'],
        },
      },
    ],
  },
});
