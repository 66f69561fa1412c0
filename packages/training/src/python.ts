import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Debian's interpreter: it is the one with python3-torch; a pyenv python on PATH would lack it. */
export const PYTHON = process.env.IONRANK_PYTHON ?? "/usr/bin/python3";
/** The folder holding the `ionrank_training` Python package. */
export const TRAINING_ROOT = fileURLToPath(new URL("..", import.meta.url));
const TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

/** Training failed: bad input or options (named with the reason), or the Python core failed. One line. */
export class TrainingError extends Error {
  override name = "TrainingError";
  constructor(
    message: string,
    /** What the core reported: its error type, the file at fault and the reason (absent for errors found in TypeScript). */
    readonly detail?: { type: string; file: string; reason: string },
  ) {
    super(message);
  }
}

/** The core prints each failure as one line with this prefix and a JSON record (ionrank_training/errors.py). */
const ERROR_PREFIX = "IONRANK_ERROR ";

/**
 * Run `python3 -m ionrank_training ARGS`, streaming each output line to `onLine`; resolves with the last
 * line (the stage's JSON summary). A failure rejects with a TrainingError carrying the core's one-line
 * report. tcmalloc is preloaded when installed: it makes training steps 2–2.7× faster here.
 */
export function runTrainingCore(args: readonly string[], onLine: (line: string) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: TRAINING_ROOT, PYTHONUNBUFFERED: "1" };
    if (existsSync(TCMALLOC) && !env.LD_PRELOAD) env.LD_PRELOAD = TCMALLOC;
    // cwd stays the package root (python -m puts cwd first on sys.path): callers pass absolute paths.
    const child = spawn(PYTHON, ["-m", "ionrank_training", ...args], { cwd: TRAINING_ROOT, env });
    let last = "";
    let report: { type: string; file: string; reason: string; message: string } | null = null;
    // One buffer per stream: a chunk of stderr must not land in the middle of a stdout line.
    const reader = () => {
      let buf = "";
      return (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith(ERROR_PREFIX)) {
            try {
              report = JSON.parse(line.slice(ERROR_PREFIX.length));
            } catch {
              report = { type: "UnexpectedError", file: "", reason: line, message: line.slice(ERROR_PREFIX.length) };
            }
          } else if (line.trim()) {
            last = line;
            onLine(line);
          }
        }
      };
    };
    child.stdout.on("data", reader());
    child.stderr.on("data", reader());
    child.on("error", (e) => reject(new TrainingError(`cannot start ${PYTHON}: ${e.message} (install python3-torch: scripts/system-deps.sh)`)));
    child.on("close", (code, signal) => {
      const r = report as { type: string; file: string; reason: string; message: string } | null;
      if (code === 0 && !r) resolve(last);
      else if (r) reject(new TrainingError(r.message, { type: r.type, file: r.file, reason: r.reason }));
      else reject(new TrainingError(`training core ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${last ? ` (last output: ${last.slice(0, 200)})` : ""}`));
    });
  });
}
