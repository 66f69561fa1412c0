import { hopPathway, Lattice, percolationDimension, Structure, type ElementSymbol, type Vec3 } from "@ionrank/crystal";
import type { Material, Pathway } from "./generated/prisma/client.js";
import { yieldToEventLoop } from "./event-loop.js";
import type { IonRankDb } from "./open.js";
import { isForeignKeyViolation, type StoredStructure } from "./repository.js";

/** The stored structure of a material as a crystal Structure. */
export function structureOf(m: Pick<Material, "structure">): Structure {
  const s = JSON.parse(m.structure) as StoredStructure;
  return new Structure(
    new Lattice(s.lattice),
    s.sites.map((site) => ({
      element: site.species as ElementSymbol,
      frac: site.frac,
      ...(typeof site.occupancy === "number" ? { occupancy: site.occupancy } : {}),
      ...(typeof site.label === "string" ? { label: site.label } : {}),
    })),
  );
}

const near = (a: readonly number[], b: readonly number[]) => a.every((x, i) => Math.abs(x - b[i]!) < 1e-4);

/**
 * The path structure the model reads for a stored pathway (images first, flagged):
 * - a pathway whose endpoints are sites of its material (an enumerated hop) is the vacancy hop between those
 *   sites in a supercell ≥ 8 Å across (as `ionrank predict --ion` builds it);
 * - any other pathway (e.g. imported from a NEB dataset, whose material is the host supercell) is its images
 *   moving through the material as stored.
 */
export function pathStructureOf(material: Pick<Material, "structure">, pathway: Pick<Pathway, "initial" | "final" | "images" | "ion">): { structure: Structure; isImage: Uint8Array } {
  const host = structureOf(material);
  const initial = JSON.parse(pathway.initial) as Vec3;
  const final = JSON.parse(pathway.final) as Vec3;
  const fromSite = host.sites.findIndex((s) => s.element === pathway.ion && near(s.frac, initial));
  let hop: { fromSite: number; toSite: number; image: Vec3 } | null = null;
  if (fromSite >= 0) {
    for (const [toSite, s] of host.sites.entries()) {
      if (s.element !== pathway.ion) continue;
      const image = final.map((x, a) => Math.round(x - s.frac[a]!)) as Vec3;
      if (near(s.frac.map((x, a) => x + image[a]!), final)) {
        hop = { fromSite, toSite, image };
        break;
      }
    }
  }
  if (hop) return hopPathway(host, hop).toPathStructure();
  const images = JSON.parse(pathway.images) as Vec3[];
  const sites = [...images.map((frac) => ({ element: pathway.ion as ElementSymbol, frac })), ...host.sites];
  const isImage = new Uint8Array(sites.length);
  isImage.fill(1, 0, images.length);
  return { structure: new Structure(host.lattice, sites), isImage };
}

interface HopFigures {
  em: number;
  emStd: number;
  pGood: number;
  equivalents: { i: number; j: number; n: number[] }[];
}

/**
 * Recompute the ranking rows (one per mobile ion) of these materials under `model` from its latest prediction
 * of each pathway: the lowest single-hop Em, and the lowest barrier at which the ion's hop network percolates
 * (hops added in order of predicted Em until it spans the crystal in at least one dimension).
 */
export async function refreshRankings(db: IonRankDb, materialIds: readonly string[], model: string): Promise<number> {
  let written = 0;
  for (const materialId of new Set(materialIds)) {
    await yieldToEventLoop();
    const pathways = await db.prisma.pathway.findMany({
      where: { materialId },
      include: { predictions: { where: { model }, orderBy: { createdAt: "desc" }, take: 1 } },
    });
    const byIon = new Map<string, { hops: HopFigures[]; hasDft: boolean }>();
    for (const p of pathways) {
      const entry = byIon.get(p.ion) ?? { hops: [], hasDft: false };
      entry.hasDft ||= p.emDft !== null;
      const pred = p.predictions[0];
      if (pred) entry.hops.push({ em: pred.emPredicted, emStd: pred.emStd, pGood: pred.pGood, equivalents: JSON.parse(p.equivalents) });
      byIon.set(p.ion, entry);
    }
    for (const [ion, { hops, hasDft }] of byIon) {
      if (hops.length === 0) continue;
      hops.sort((a, b) => a.em - b.em);
      let percolationEm: number | null = null;
      let percolationDim = 0;
      const network: { i: number; j: number; n: number[] }[] = [];
      for (const h of hops) {
        network.push(...h.equivalents);
        if (network.length === 0) continue;
        const dim = percolationDimension(network);
        if (dim >= 1) {
          percolationEm = h.em;
          percolationDim = dim;
          break;
        }
      }
      const lowest = hops[0]!;
      const setter = percolationEm === null ? lowest : hops.find((h) => h.em === percolationEm)!;
      const data = {
        hops: hops.length,
        lowestEm: lowest.em,
        percolationEm,
        percolationDim,
        rankEm: percolationEm ?? lowest.em,
        emStd: setter.emStd,
        pGood: setter.pGood,
        hasDft,
      };
      try {
        await db.prisma.materialRanking.upsert({
          where: { materialId_ion_model: { materialId, ion, model } },
          create: { materialId, ion, model, ...data },
          update: data,
        });
      } catch (error) {
        // The material was deleted after its pathways were read: there is nothing left to rank.
        if (isForeignKeyViolation(error)) break;
        throw error;
      }
      written++;
    }
  }
  return written;
}
