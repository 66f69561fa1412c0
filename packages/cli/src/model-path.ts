import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "./io.js";

/** The bundled models folder (repository root `models/`). */
export const MODELS_DIR = fileURLToPath(new URL("../../../models/", import.meta.url));

/** Resolve --model: a card path, or a model name in models/ (default "em"). */
export function resolveModel(model: string | undefined): string {
  const m = model ?? "em";
  const candidates = [m, `${MODELS_DIR}${m}.card.json`, `${MODELS_DIR}${m}`];
  const hit = candidates.find((c) => c.endsWith(".card.json") && existsSync(c));
  if (!hit) throw new UsageError(`no model "${m}": give a models/<name>.card.json path or the name of a model in ${MODELS_DIR}`);
  return hit;
}
