import { defineConfig } from "vitest/config";

// Cross-package and end-to-end tests: they run the built packages and the real `ionrank` binary.
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["**/*.test.ts"],
    testTimeout: 300_000,
    // One file at a time (what 2 cores give anyway): web-e2e and scripts start the platform the way users do,
    // and its `turbo run build` restores dist/ folders that the other files' processes are loading.
    fileParallelism: false,
  },
});
