import { createHash, randomBytes } from "node:crypto";
import { Composition, enumerateHops, isElement, ParseError, readStructures, type ElementSymbol, type Structure, type StructureFormat } from "@ionrank/crystal";
import type { IonRankDb } from "./open.js";
import { upsertMaterial, upsertPathway } from "./repository.js";
import { ValidationError } from "./errors.js";

/** One structure text to import, as the API and CLI receive it. */
export interface StructureText {
  name: string;
  /** cif, poscar, extxyz, json, or undefined for auto-detection. */
  format?: string | null;
  content: string;
}

export interface ImportError {
  name: string;
  index: number;
  reason: string;
}

export interface ImportOutcome {
  id: string;
  status: "DONE" | "FAILED";
  imported: number;
  failed: number;
  errors: ImportError[];
}

const FORMATS = ["cif", "poscar", "extxyz", "json"];

function stored(s: Structure) {
  return {
    lattice: s.lattice.matrix,
    sites: s.sites.map((site) => ({
      species: site.element,
      frac: site.frac,
      ...(site.occupancy !== undefined && site.occupancy < 1 ? { occupancy: site.occupancy } : {}),
      ...(site.label ? { label: site.label } : {}),
    })),
  };
}

/**
 * Import structure texts as one ImportJob: every structure is validated; good ones are stored (deduplicated by
 * content hash, so a re-import creates nothing new), bad ones are recorded with their name, index and reason
 * and the rest continue. With `ion`, that ion's symmetry-distinct hops are stored as pathways.
 */
export async function importStructureTexts(db: IonRankDb, items: readonly StructureText[], options: { ion?: string | null } = {}): Promise<ImportOutcome> {
  if (options.ion != null && !isElement(options.ion)) throw new ValidationError("ion", `"${options.ion}" is not an element symbol`);
  const job = await db.prisma.importJob.create({ data: { status: "RUNNING" } });
  const errors: ImportError[] = [];
  let imported = 0;
  for (const [index, item] of items.entries()) {
    try {
      if (item.format != null && !FORMATS.includes(item.format)) throw new ParseError(`format must be one of ${FORMATS.join(", ")}, not "${item.format}"`);
      const structures = readStructures(item.content, { file: item.name, ...(item.format ? { format: item.format as StructureFormat } : {}) });
      for (const s of structures) {
        const comp = Composition.of(s);
        const hops = options.ion ? enumerateHops(s, options.ion as ElementSymbol) : null;
        const material = await upsertMaterial(db, {
          name: structures.length > 1 ? `${item.name} [${s.source?.block ?? ""}]` : item.name,
          formula: comp.formula,
          reducedFormula: comp.reducedFormula,
          elements: comp.elements,
          structure: stored(s),
          spaceGroup: hops?.spaceGroup.number ?? null,
          sourceFile: item.name,
        });
        for (const h of hops?.hops ?? []) {
          const images = [0, 0.25, 0.5, 0.75, 1].map((t) => h.from.map((x, a) => x + t * (h.to[a]! - x)) as [number, number, number]);
          await upsertPathway(db, {
            materialId: material.id,
            ion: options.ion!,
            initial: h.from,
            final: h.to,
            images,
            hopLength: h.length,
            multiplicity: h.multiplicity,
          });
        }
        imported++;
      }
    } catch (e) {
      errors.push({ name: item.name, index, reason: (e as Error).message });
    }
  }
  const status = imported === 0 && errors.length > 0 ? "FAILED" : "DONE";
  await db.prisma.importJob.update({ where: { id: job.id }, data: { status, imported, failed: errors.length, errors: JSON.stringify(errors) } });
  return { id: job.id, status, imported, failed: errors.length, errors };
}

const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

/** Create an API key; only its SHA-256 is stored, the key itself is returned once. */
export async function createApiKey(db: IonRankDb, role: "reader" | "editor" | "admin"): Promise<string> {
  const key = `irk_${randomBytes(24).toString("base64url")}`;
  await db.prisma.apiKey.create({ data: { hash: hashKey(key), role } });
  return key;
}

/** The role of a presented API key, or null when it is unknown. */
export async function apiKeyRole(db: IonRankDb, key: string): Promise<string | null> {
  const row = await db.prisma.apiKey.findUnique({ where: { hash: hashKey(key) } });
  return row?.role ?? null;
}
