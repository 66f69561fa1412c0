import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap } from "@apollo/server";
import DataLoader from "dataloader";
import { GraphQLError } from "graphql";
import { enumerateHops, isElement, Lattice, type ElementSymbol } from "@ionrank/crystal";

/** Longest hop a user may add by hand, Å. */
const MAX_HOP_LENGTH = 20;
import {
  activeModel,
  apiKeyRole,
  DbError,
  deleteMaterials,
  importStructureTexts,
  IN_LIST_MAX,
  isBarrier,
  JobRunningError,
  labelPathway,
  listPathways,
  MAX_BARRIER_EV,
  NotFoundError,
  openDatabase,
  predictPathways,
  registerModel,
  searchMaterials,
  setActiveModel,
  stats,
  structureOf,
  upsertPathway,
  ValidationError,
  type ImportJob,
  type IonRankDb,
  type Material,
  type MaterialFilter,
  type MaterialRanking,
  type MaterialSort,
  type Pathway,
  type Prediction,
  type PredictFn,
} from "@ionrank/db";
import { EmPredictor } from "@ionrank/inference";
import type { ApiEnv } from "./env.js";
import { apiError, ErrorCode, HTTP_STATUS, isErrorCode } from "./errors.js";
import { DEFAULT_LIMITS, limitsPlugin, type QueryLimits } from "./limits.js";
import { typeDefs } from "./schema.js";
import { textPlugin } from "./text.js";

/** What every resolver sees. */
interface Context {
  db: IonRankDb;
  role: string | null;
  service: Service;
  pathwaysByMaterial: DataLoader<string, Pathway[]>;
  predictionsByPathway: DataLoader<string, Prediction[]>;
  latestPrediction: DataLoader<{ pathwayId: string; model: string }, Prediction | null, string>;
  rankingOf: DataLoader<{ materialId: string; ion: string; model: string }, MaterialRanking | null, string>;
  materialById: DataLoader<string, Material | null>;
  activeModel: () => Promise<string | null>;
  /** Live predictions this request is making, by pathway: `predictions` waits for them, so one response agrees. */
  livePredictions: Map<string, Promise<unknown>>;
  /** Throws BAD_USER_INPUT unless this database knows the model (checked once per model and request). */
  checkModel: (model: string) => Promise<void>;
}

/** Long-lived parts of the API: the database and the inference service (null when no model is loaded). */
interface Service {
  db: IonRankDb;
  predictor: EmPredictor | null;
  predictorError: string | null;
}

/** Path structures → predictions through the inference service's batching (EmPredictor). */
function predictFn(p: EmPredictor): PredictFn {
  return (inputs) => p.predictMany(inputs);
}

/**
 * Keys per DataLoader query: @ionrank/db's IN_LIST_MAX. Prisma allows SQLite at most 999 parameters in a query that
 * orders or nests: a ranking page of 400 materials with 3 hops each asked 1,200 pathways' predictions at once and
 * failed with a 500. Bigger batches become several queries.
 */
const MAX_BATCH = IN_LIST_MAX;

function loaders(db: IonRankDb, service: Service) {
  // One query per level of the tree (per MAX_BATCH parents), however many parents a page has.
  return {
    pathwaysByMaterial: new DataLoader<string, Pathway[]>(async (ids) => {
      const rows = await db.prisma.pathway.findMany({ where: { materialId: { in: [...ids] } }, orderBy: [{ hopLength: "asc" }, { id: "asc" }] });
      return ids.map((id) => rows.filter((r) => r.materialId === id));
    }, { maxBatchSize: MAX_BATCH }),
    predictionsByPathway: new DataLoader<string, Prediction[]>(async (ids) => {
      const rows = await db.prisma.prediction.findMany({ where: { pathwayId: { in: [...ids] } }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
      return ids.map((id) => rows.filter((r) => r.pathwayId === id));
    }, { maxBatchSize: MAX_BATCH }),
    latestPrediction: new DataLoader<{ pathwayId: string; model: string }, Prediction | null, string>(
      async (keys) => {
        // Usually one model for the whole request: an IN list per model uses the (pathwayId, model) index.
        const models = [...new Set(keys.map((k) => k.model))];
        const rows = await db.prisma.prediction.findMany({
          where: { OR: models.map((model) => ({ model, pathwayId: { in: keys.filter((k) => k.model === model).map((k) => k.pathwayId) } })) },
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        });
        return keys.map((k) => rows.find((r) => r.pathwayId === k.pathwayId && r.model === k.model) ?? null);
      },
      { cacheKeyFn: (k) => `${k.pathwayId}|${k.model}`, maxBatchSize: MAX_BATCH },
    ),
    rankingOf: new DataLoader<{ materialId: string; ion: string; model: string }, MaterialRanking | null, string>(
      async (keys) => {
        const rows = await db.prisma.materialRanking.findMany({ where: { materialId: { in: [...new Set(keys.map((k) => k.materialId))] } } });
        return keys.map((k) => rows.find((r) => r.materialId === k.materialId && r.ion === k.ion && r.model === k.model) ?? null);
      },
      { cacheKeyFn: (k) => `${k.materialId}|${k.ion}|${k.model}`, maxBatchSize: MAX_BATCH },
    ),
    materialById: new DataLoader<string, Material | null>(async (ids) => {
      const rows = await db.prisma.material.findMany({ where: { id: { in: [...ids] } } });
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    }, { maxBatchSize: MAX_BATCH }),
    activeModel: once(() => activeModel(db)),
    livePredictions: new Map<string, Promise<unknown>>(),
    checkModel: modelChecker(db),
    service,
  };
}

/**
 * A model a field names must be one this database knows (registered, or with predictions or rankings stored),
 * as for the top-level filters: otherwise a typo reads as "no prediction" or "no ranking", a silent null.
 */
function modelChecker(db: IonRankDb): (model: string) => Promise<void> {
  const seen = new Map<string, Promise<void>>();
  const check = async (model: string) => {
    const at = model.lastIndexOf("@");
    if (at > 0 && (await db.prisma.model.count({ where: { name: model.slice(0, at), version: model.slice(at + 1) } })) > 0) return;
    if ((await db.prisma.prediction.count({ where: { model } })) > 0 || (await db.prisma.materialRanking.count({ where: { model } })) > 0) return;
    const known = (await db.prisma.model.findMany({ select: { name: true, version: true }, orderBy: [{ name: "asc" }, { version: "asc" }] })).map((m) => `${m.name}@${m.version}`);
    throw apiError(ErrorCode.BadUserInput, `model: no model "${model}" here (known: ${known.join(", ") || "none"})`);
  };
  return (model) => {
    let p = seen.get(model);
    if (!p) seen.set(model, (p = check(model)));
    return p;
  };
}

function checkIon(field: string, ion: string | null | undefined): void {
  if (ion != null && !isElement(ion)) throw apiError(ErrorCode.BadUserInput, `${field}: "${ion}" is not an element symbol (e.g. Li, Na, Mg)`);
}

/** An `after` argument: an empty string is no cursor of ours (it used to restart the list at its first page). */
function afterArg(after: string | null | undefined): string | null {
  if (after === "") throw apiError(ErrorCode.BadUserInput, "after: not a cursor returned by this list (empty)");
  return after ?? null;
}

/** A page size of a job's errors or notices: 0 … 1000, default 100. */
function jobPage(first: number | null | undefined, field: string): number {
  const n = first ?? 100;
  if (n < 0 || n > 1000) throw apiError(ErrorCode.BadUserInput, `${field}.first: must be an integer 0 … 1000`);
  return n;
}

/**
 * The checks a material filter needs beyond each field's own: a range that cannot hold anything, and element
 * lists that repeat a symbol (each repeat costs SQL parameters, and SQLite allows only 999 in a query).
 */
function materialFilter(f: MaterialFilter | null | undefined): MaterialFilter {
  const filter: MaterialFilter = { ...(f ?? {}) };
  if (filter.emMin != null && filter.emMax != null && filter.emMin > filter.emMax) {
    throw apiError(ErrorCode.BadUserInput, `filter.emMin (${filter.emMin} eV) is above filter.emMax (${filter.emMax} eV): no barrier lies in that range`);
  }
  if (filter.elementsAll) filter.elementsAll = [...new Set(filter.elementsAll)];
  if (filter.elementsNone) filter.elementsNone = [...new Set(filter.elementsNone)];
  const both = (filter.elementsAll ?? []).filter((e) => filter.elementsNone?.includes(e));
  if (both.length) throw apiError(ErrorCode.BadUserInput, `filter.elementsAll and filter.elementsNone both name ${both.join(", ")}: no material can match`);
  return filter;
}

function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= f());
}

function requireEditor(ctx: Context): void {
  if (ctx.role === null) throw apiError(ErrorCode.Unauthenticated, "this mutation needs an API key: Authorization: Bearer <key> (create one with `ionrank apikey create --role editor`)");
  // Only the roles that may write: a key with any other role (reader, or one this version does not know) reads.
  if (ctx.role !== "editor" && ctx.role !== "admin") throw apiError(ErrorCode.Forbidden, "this API key may only read");
}

function requireAdmin(ctx: Context): void {
  if (ctx.role === null) throw apiError(ErrorCode.Unauthenticated, "this mutation needs an admin API key: Authorization: Bearer <key> (create one with `ionrank apikey create --role admin`)");
  if (ctx.role !== "admin") throw apiError(ErrorCode.Forbidden, "deleting needs an admin API key; this one may not delete");
}

/** Database errors become client errors with stable codes; anything else stays internal. */
async function guard<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ValidationError) throw apiError(ErrorCode.BadUserInput, e.message);
    if (e instanceof NotFoundError) throw apiError(ErrorCode.NotFound, e.message);
    if (e instanceof JobRunningError) throw apiError(ErrorCode.Conflict, e.message);
    if (e instanceof DbError) throw apiError(ErrorCode.BadUserInput, e.message);
    throw e;
  }
}

function requirePredictor(ctx: Context): EmPredictor {
  if (!ctx.service.predictor) throw apiError(ErrorCode.ModelUnavailable, `no model is loaded: ${ctx.service.predictorError ?? "set IONRANK_MODEL to a model card"}`);
  return ctx.service.predictor;
}

/**
 * Empties the request's caches (DataLoaders, the active model): mutation fields run one after another, and what one
 * wrote must show in every field read after it — its own result's included — not what an earlier field loaded.
 */
function clearCaches(ctx: Context): void {
  for (const loader of [ctx.pathwaysByMaterial, ctx.predictionsByPathway, ctx.latestPrediction, ctx.rankingOf, ctx.materialById]) loader.clearAll();
  ctx.activeModel = once(() => activeModel(ctx.db));
}

/** A mutation resolver that clears the request's caches once it has written (or failed: it may have written part). */
function writes<A, R>(resolve: (parent: unknown, args: A, ctx: Context) => Promise<R>): (parent: unknown, args: A, ctx: Context) => Promise<R> {
  return async (parent, args, ctx) => {
    try {
      return await resolve(parent, args, ctx);
    } finally {
      clearCaches(ctx);
    }
  };
}

const job = (j: ImportJob) => ({ ...j, createdAt: j.createdAt.toISOString(), finishedAt: j.finishedAt?.toISOString() ?? null });

function connection(r: Awaited<ReturnType<typeof searchMaterials>>) {
  return { edges: r.items.map((h) => ({ cursor: h.cursor, position: h.position, node: h.material, ranking: h.ranking })), pageInfo: r.pageInfo, model: r.model };
}

const vec = (v: readonly number[] | null | undefined, field: string): [number, number, number] => {
  if (!v || v.length !== 3) throw apiError(ErrorCode.BadUserInput, `${field} must be [x, y, z]`);
  return [v[0]!, v[1]!, v[2]!];
};

const resolvers = {
  Query: {
    materials: (_: unknown, a: { filter?: MaterialFilter; sort?: MaterialSort; first?: number; after?: string }, ctx: Context) =>
      guard(async () => connection(await searchMaterials(ctx.db, { filter: materialFilter(a.filter), sort: a.sort ?? "DATE", ...(a.first != null ? { first: a.first } : {}), after: afterArg(a.after) }))),
    ranking: (_: unknown, a: { ion: string; model?: string; first?: number; after?: string }, ctx: Context) =>
      guard(async () => connection(await searchMaterials(ctx.db, { filter: { ion: a.ion, model: a.model ?? null }, sort: "EM", ...(a.first != null ? { first: a.first } : {}), after: afterArg(a.after) }))),
    material: (_: unknown, a: { id: string }, ctx: Context) => ctx.materialById.load(a.id),
    pathway: (_: unknown, a: { id: string }, ctx: Context) => ctx.db.prisma.pathway.findUnique({ where: { id: a.id } }),
    pathways: (_: unknown, a: { filter?: { materialId?: string; ion?: string; hasDft?: boolean }; first?: number; after?: string }, ctx: Context) =>
      guard(async () => {
        const r = await listPathways(ctx.db, { filter: a.filter ?? {}, ...(a.first != null ? { first: a.first } : {}), after: afterArg(a.after) });
        return { edges: r.items.map((i) => ({ cursor: i.cursor, position: i.position, node: i.pathway })), pageInfo: r.pageInfo };
      }),
    models: (_: unknown, __: unknown, ctx: Context) => ctx.db.prisma.model.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    activeModel: (_: unknown, __: unknown, ctx: Context) => ctx.db.prisma.model.findFirst({ where: { active: true } }),
    importJob: async (_: unknown, a: { id: string }, ctx: Context) => {
      const j = await ctx.db.prisma.importJob.findUnique({ where: { id: a.id } });
      return j ? job(j) : null;
    },
    stats: (_: unknown, a: { model?: string; ion?: string }, ctx: Context) => guard(() => stats(ctx.db, { model: a.model ?? null, ion: a.ion ?? null })),
  },
  Mutation: {
    importStructures: writes((_: unknown, a: { structures: { name: string; format?: string; content: string }[]; ion?: string; predict?: boolean }, ctx: Context) =>
      guard(async () => {
        requireEditor(ctx);
        const predictor = a.predict ? requirePredictor(ctx) : null;
        const r = await importStructureTexts(ctx.db, a.structures, {
          ion: a.ion ?? null,
          ...(predictor ? { onPathways: (ids: string[]) => predictPathways(ctx.db, predictFn(predictor), predictor.modelVersion, { pathwayIds: ids }) } : {}),
        });
        return job((await ctx.db.prisma.importJob.findUnique({ where: { id: r.id } }))!);
      })),
    addPathway: writes((_: unknown, a: { input: { materialId: string; ion: string; initial?: number[]; final?: number[]; fromSite?: number; toSite?: number; image?: number[] } }, ctx: Context) =>
      guard(async () => {
        requireEditor(ctx);
        const i = a.input;
        if (!isElement(i.ion)) throw apiError(ErrorCode.BadUserInput, `ion "${i.ion}" is not an element symbol (e.g. Li, Na, Mg)`);
        const m = await ctx.db.prisma.material.findUnique({ where: { id: i.materialId } });
        if (!m) throw new NotFoundError("Material", i.materialId);
        const s = structureOf(m);
        let initial: [number, number, number];
        let final: [number, number, number];
        let symmetry: { equivalents: { i: number; j: number; n: number[] }[]; multiplicity: number } | null = null;
        // One way of naming the hop: the other one's fields would be dropped without a word.
        const bySites = i.fromSite != null || i.toSite != null;
        if (bySites && (i.initial != null || i.final != null)) throw apiError(ErrorCode.BadUserInput, "give initial and final, or fromSite and toSite (with image), not both");
        if (!bySites && i.image != null) throw apiError(ErrorCode.BadUserInput, "image is the cell offset of toSite: it needs fromSite and toSite");
        if (bySites) {
          const from = s.sites[i.fromSite ?? -1];
          const to = s.sites[i.toSite ?? -1];
          if (!from || !to) throw apiError(ErrorCode.BadUserInput, `fromSite and toSite must be site indices 0 … ${s.length - 1}`);
          if (from.element !== i.ion || to.element !== i.ion) throw apiError(ErrorCode.BadUserInput, `sites ${i.fromSite} and ${i.toSite} must both be ${i.ion}`);
          const n = i.image ? vec(i.image, "image") : [0, 0, 0];
          initial = [...from.frac] as [number, number, number];
          final = to.frac.map((x, k) => x + n[k]!) as [number, number, number];
          // A hop between two ion sites is one of the structure's symmetry-distinct hops: find its class, so a
          // copy of a stored hop is that pathway (not a second one) and a new one gets its equivalents.
          const length = s.lattice.toCartesian(final.map((x, k) => x - initial[k]!)).reduce((acc, x) => acc + x * x, 0) ** 0.5;
          if (length > 0.1 && length <= MAX_HOP_LENGTH && s.isOrdered) {
            const same = (e: { i: number; j: number; n: ArrayLike<number> }) =>
              (e.i === i.fromSite && e.j === i.toSite && [0, 1, 2].every((k) => e.n[k] === n[k])) || (e.i === i.toSite && e.j === i.fromSite && [0, 1, 2].every((k) => e.n[k] === -n[k]!));
            let hop;
            try {
              hop = enumerateHops(s, i.ion as ElementSymbol, { maxLength: length + 1e-3 }).hops.find((h) => h.equivalents.some(same));
            } catch {
              hop = undefined; // e.g. too many hops to classify: stored as given, without its equivalents
            }
            if (hop) {
              symmetry = { equivalents: hop.equivalents.map((e) => ({ i: e.i, j: e.j, n: [...e.n] })), multiplicity: hop.multiplicity };
              const stored = await ctx.db.prisma.pathway.findMany({ where: { materialId: m.id, ion: i.ion } });
              const copy = stored.find((p) => (JSON.parse(p.equivalents) as { i: number; j: number; n: number[] }[]).some(same));
              if (copy) return copy;
            }
          }
        } else {
          initial = vec(i.initial, "initial");
          final = vec(i.final, "final");
        }
        const hopLength = s.lattice.toCartesian(final.map((x, k) => x - initial[k]!)).reduce((acc, x) => acc + x * x, 0) ** 0.5;
        if (!(hopLength > 0.1)) throw apiError(ErrorCode.BadUserInput, "initial and final are the same position");
        if (hopLength > MAX_HOP_LENGTH) throw apiError(ErrorCode.BadUserInput, `the hop is ${hopLength.toFixed(2)} Å long; at most ${MAX_HOP_LENGTH} Å (the model was trained on 1.5–9 Å hops)`);
        const images = [0, 0.25, 0.5, 0.75, 1].map((t) => initial.map((x, k) => x + t * (final[k]! - x)) as [number, number, number]);
        const r = await upsertPathway(ctx.db, { materialId: m.id, ion: i.ion, initial, final, images, hopLength, ...(symmetry ?? {}) });
        // Deleted (with its material, by another client) since it was stored: NOT_FOUND, not a null for Pathway!.
        const stored = await ctx.db.prisma.pathway.findUnique({ where: { id: r.id } });
        if (!stored) throw new NotFoundError("Material", m.id);
        return stored;
      })),
    labelPathway: writes((_: unknown, a: { id: string; label: { emDft: number; citation: string; functional: string } }, ctx: Context) =>
      guard(async () => {
        requireEditor(ctx);
        const { emDft, citation, functional } = a.label;
        if (!isBarrier(emDft)) throw apiError(ErrorCode.BadUserInput, `emDft must be a barrier in eV, 0 … ${MAX_BARRIER_EV}`);
        if (!citation.trim() || !functional.trim()) throw apiError(ErrorCode.BadUserInput, "a DFT label needs its citation (DOI) and functional");
        return labelPathway(ctx.db, a.id, { emDft, citation, functional });
      })),
    predict: writes((_: unknown, a: { pathwayIds?: string[]; all?: boolean; replace?: boolean }, ctx: Context) =>
      guard(async () => {
        requireEditor(ctx);
        const predictor = requirePredictor(ctx);
        if (!a.all && !a.pathwayIds?.length) throw apiError(ErrorCode.BadUserInput, "give pathwayIds, or all: true");
        if (a.all && a.pathwayIds?.length) throw apiError(ErrorCode.BadUserInput, "give pathwayIds or all: true, not both");
        if (a.pathwayIds?.length) {
          const ids = [...new Set(a.pathwayIds)];
          const found = new Set((await ctx.db.prisma.pathway.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((p) => p.id));
          const missing = ids.filter((id) => !found.has(id));
          if (missing.length) throw apiError(ErrorCode.NotFound, `no pathway ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ""}`);
        }
        const j = await ctx.db.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: a.all ? "all" : `${a.pathwayIds!.length} pathways` } });
        // Runs in the background: the client polls importJob(id) for progress.
        void predictPathways(ctx.db, predictFn(predictor), predictor.modelVersion, { pathwayIds: a.all ? null : a.pathwayIds!, jobId: j.id, skipPredicted: !a.replace }).catch(async (e: Error) => {
          await ctx.db.prisma.importJob.update({ where: { id: j.id }, data: { status: "FAILED", finishedAt: new Date() } }).catch(() => {});
          await ctx.db.prisma.importItemError.create({ data: { jobId: j.id, name: "predict", index: 0, reason: e.message } }).catch(() => {});
        });
        return job(j);
      })),
    deleteMaterials: writes((_: unknown, a: { ids: string[] }, ctx: Context) =>
      guard(async () => {
        requireAdmin(ctx);
        return deleteMaterials(ctx.db, a.ids);
      })),
    setActiveModel: writes((_: unknown, a: { model: string }, ctx: Context) =>
      guard(async () => {
        requireEditor(ctx);
        await setActiveModel(ctx.db, a.model);
        return ctx.db.prisma.model.findFirst({ where: { active: true } });
      })),
  },
  Material: {
    elements: (m: { elements: string }) => m.elements.split(",").filter(Boolean),
    createdAt: (m: { createdAt: Date }) => m.createdAt.toISOString(),
    lattice: (m: { structure: string }) => {
      const l = new Lattice((JSON.parse(m.structure) as { lattice: number[][] }).lattice);
      return { matrix: l.matrix, ...l.parameters, volume: l.volume };
    },
    sites: (m: { structure: string }) => (JSON.parse(m.structure) as { sites: unknown[] }).sites,
    pathways: async (m: { id: string }, a: { ion?: string }, ctx: Context) => {
      checkIon("ion", a.ion);
      return (await ctx.pathwaysByMaterial.load(m.id)).filter((p) => !a.ion || p.ion === a.ion);
    },
    ranking: async (m: { id: string }, a: { ion: string; model?: string }, ctx: Context) => {
      checkIon("ion", a.ion);
      if (a.model != null) await ctx.checkModel(a.model);
      const model = a.model ?? (await ctx.activeModel());
      return model ? ctx.rankingOf.load({ materialId: m.id, ion: a.ion, model }) : null;
    },
  },
  Pathway: {
    material: (p: { materialId: string }, _: unknown, ctx: Context) => ctx.materialById.load(p.materialId),
    initial: (p: { initial: string }) => JSON.parse(p.initial),
    final: (p: { final: string }) => JSON.parse(p.final),
    images: (p: { images: string }) => JSON.parse(p.images),
    predictions: async (p: { id: string }, _: unknown, ctx: Context) => {
      await null; // sibling fields' resolvers have all been called by now: a live prediction of this pathway is registered
      await ctx.livePredictions.get(p.id)?.catch(() => {});
      return ctx.predictionsByPathway.load(p.id);
    },
    prediction: (p: Pathway, a: { model?: string; live?: boolean }, ctx: Context) => {
      const answer = (async () => {
        if (a.model != null) await ctx.checkModel(a.model);
        const model = a.model ?? (await ctx.activeModel());
        if (!model) return null;
        const stored = await ctx.latestPrediction.load({ pathwayId: p.id, model });
        if (stored || !a.live) return stored;
        const predictor = requirePredictor(ctx);
        if (predictor.modelVersion !== model) throw apiError(ErrorCode.BadUserInput, `live predictions come from the loaded model ${predictor.modelVersion}, not ${model}`);
        // predictPathways hands the path structure to EmPredictor, whose DataLoader batches the concurrent
        // calls of every pathway in this response into shared ONNX runs.
        const r = await predictPathways(ctx.db, predictFn(predictor), model, { pathwayIds: [p.id] });
        if (r.failed.length) {
          // Deleted by another client while it was predicted: gone, which is no fault of this request.
          if (!(await ctx.db.prisma.pathway.findUnique({ where: { id: p.id }, select: { id: true } }))) throw apiError(ErrorCode.NotFound, `Pathway ${p.id} not found`);
          throw apiError(ErrorCode.BadUserInput, `pathway ${p.id} could not be predicted: ${r.failed[0]!.reason}`);
        }
        return ctx.db.prisma.prediction.findFirst({ where: { pathwayId: p.id, model }, orderBy: { createdAt: "desc" } });
      })();
      // Registered before the first await, so this pathway's `predictions` field waits for it.
      if (a.live) ctx.livePredictions.set(p.id, answer);
      return answer;
    },
  },
  Prediction: {
    warnings: (p: { warnings: string }) => JSON.parse(p.warnings) as string[],
    createdAt: (p: { createdAt: Date }) => p.createdAt.toISOString(),
  },
  Model: {
    tag: (m: { name: string; version: string }) => `${m.name}@${m.version}`,
    createdAt: (m: { createdAt: Date }) => m.createdAt.toISOString(),
  },
  ImportJob: {
    errors: (j: { id: string }, a: { first?: number }, ctx: Context) =>
      ctx.db.prisma.importItemError.findMany({ where: { jobId: j.id }, orderBy: { index: "asc" }, take: jobPage(a.first, "errors") }),
    notices: (j: { id: string }, a: { first?: number; kind?: string | null }, ctx: Context) =>
      ctx.db.prisma.importItemNotice.findMany({
        where: { jobId: j.id, ...(a.kind ? { kind: a.kind } : {}) },
        orderBy: [{ index: "asc" }, { kind: "asc" }, { name: "asc" }],
        take: jobPage(a.first, "notices"),
      }),
  },
};

class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An over-limit body is read away up to this many times the limit before the connection is cut. */
const DRAIN_LIMIT = 8;

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(new HttpError(ErrorCode.PayloadTooLarge, `request body is ${declared} bytes; at most ${limit} are accepted`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Stop buffering and read the rest away, so the client can finish sending and read the 413 — closing
        // mid-upload would reset its connection instead. A client that keeps on sending is cut off.
        req.removeAllListeners("data");
        req.on("data", (more: Buffer) => {
          size += more.length;
          if (size > DRAIN_LIMIT * limit) req.destroy();
        });
        reject(new HttpError(ErrorCode.PayloadTooLarge, `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  res.writeHead(HTTP_STATUS[code], { "content-type": "application/json" });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

export interface StartedApi {
  url: string;
  db: IonRankDb;
  predictor: EmPredictor | null;
  stop: () => Promise<void>;
}

/** Start the GraphQL API (database, inference service, HTTP server); resolves with its URL and a stop function. */
export async function startApi(env: ApiEnv, options: { limits?: QueryLimits; log?: (line: string) => void } = {}): Promise<StartedApi> {
  const log = options.log ?? ((l: string) => console.error(l));
  const db = await openDatabase({ ...(env.databaseUrl ? { url: env.databaseUrl } : { dataDir: env.dataDir }) });
  const service: Service = { db, predictor: null, predictorError: null };
  if (env.modelCard) {
    try {
      service.predictor = await EmPredictor.load(env.modelCard, { log, ...(env.inferenceWorkers ? { workers: env.inferenceWorkers } : {}) });
      await registerModel(db, service.predictor.card, { active: (await activeModel(db)) === null });
    } catch (e) {
      service.predictorError = (e as Error).message;
      log(`inference unavailable: ${service.predictorError}`);
    }
  }
  const limits = options.limits ?? DEFAULT_LIMITS;
  const server = new ApolloServer<Context>({
    typeDefs,
    resolvers,
    // Stack traces never reach clients in production; every error keeps its code.
    includeStacktraceInErrorResponses: !env.production,
    csrfPrevention: true,
    introspection: true,
    parseOptions: { maxTokens: limits.maxTokens },
    plugins: [limitsPlugin<Context>(limits), textPlugin<Context>()],
    formatError: (formatted, error) => {
      const code = formatted.extensions?.code;
      if (!isErrorCode(code) || code === ErrorCode.Internal) {
        log(`internal error: ${String((error as Error)?.stack ?? error)}`);
        if (!env.production) return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.Internal } };
        // Internal details (SQL, paths) stay in the server log.
        return { message: "internal server error", extensions: { code: ErrorCode.Internal } };
      }
      if (formatted.extensions?.code === "GRAPHQL_PARSE_FAILED" && /more tha[nt] \d+ tokens/i.test(formatted.message)) {
        // graphql-js words it "more that N tokens"; either way it is a query-size limit, not a typo of the client.
        return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.QueryTooComplex } };
      }
      return formatted;
    },
  });
  await server.start();

  const http = createServer((req, res) => {
    void (async () => {
      const origin = req.headers.origin;
      if (origin && env.corsOrigins.includes(origin)) {
        res.setHeader("access-control-allow-origin", origin);
        res.setHeader("vary", "origin");
        res.setHeader("access-control-allow-headers", "content-type, authorization, apollo-require-preflight");
        res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "OPTIONS") return void res.writeHead(204).end();
      if (url.pathname === "/health") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, model: service.predictor?.modelVersion ?? null }));
      if (url.pathname !== "/graphql") return sendError(res, ErrorCode.NotFound, "not found: the API is at /graphql");
      try {
        const body = req.method === "POST" ? await readBody(req, env.maxBodyBytes) : "";
        let parsed: unknown = undefined;
        if (body) {
          try {
            parsed = JSON.parse(body);
          } catch {
            return sendError(res, ErrorCode.BadUserInput, "request body is not valid JSON");
          }
        }
        const headers = new HeaderMap();
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
        const auth = req.headers.authorization;
        // The auth scheme is case-insensitive (RFC 9110): "bearer <key>" is a key, not an anonymous request.
        const key = /^bearer\s+(\S.*)$/i.exec(auth ?? "")?.[1]?.trim() || null;
        const role = key ? await apiKeyRole(db, key) : null;
        if (key && role === null) return sendError(res, ErrorCode.Unauthenticated, "unknown API key");
        if (env.readRequiresKey && role === null) return sendError(res, ErrorCode.Unauthenticated, "this server requires an API key for every request: Authorization: Bearer <key>");
        const result = await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method ?? "GET", headers, search: url.search, body: parsed },
          context: async () => ({ db, role, ...loaders(db, service) }),
        });
        for (const [k, v] of result.headers) res.setHeader(k, v);
        res.statusCode = result.status ?? 200;
        // A resolver that failed on a server fault answers 500, even beside partial data.
        if (result.body.kind === "complete" && res.statusCode === 200 && result.body.string.includes(`"${ErrorCode.Internal}"`)) {
          const errors = (JSON.parse(result.body.string) as { errors?: { extensions?: { code?: string } }[] }).errors ?? [];
          if (errors.some((e) => e.extensions?.code === ErrorCode.Internal)) res.statusCode = HTTP_STATUS[ErrorCode.Internal];
        }
        if (result.body.kind === "complete") res.end(result.body.string);
        else {
          for await (const chunk of result.body.asyncIterator) res.write(chunk);
          res.end();
        }
      } catch (e) {
        if (e instanceof HttpError) return sendError(res, e.code, e.message);
        if (e instanceof GraphQLError) return sendError(res, (e.extensions?.code as ErrorCode) ?? ErrorCode.Internal, e.message);
        log(`request failed: ${String((e as Error)?.stack ?? e)}`);
        sendError(res, ErrorCode.Internal, env.production ? "internal server error" : String((e as Error).message));
      }
    })();
  });
  // Longer than clients' keep-alive reuse windows, so an idle connection is not closed under a request in flight.
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(env.port, env.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${env.host}:${port}/graphql`,
    db,
    predictor: service.predictor,
    stop: async () => {
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections();
      await server.stop();
      await service.predictor?.close();
      await db.close();
    },
  };
}
