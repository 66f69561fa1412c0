#!/usr/bin/env node
// Thin launcher: the command itself is compiled TypeScript (built by `npm ci` through the root prepare script).
import { main } from "../dist/main.js";

// A reader that stops early (`ionrank hops … | head -1`) closes the pipe: stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
