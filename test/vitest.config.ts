import { defineConfig } from "vitest/config";

// Cross-package and end-to-end tests: they run the built packages and the real `ionrank` binary.
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["**/*.test.ts"],
    testTimeout: 300_000,
  },
});
