import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import DataLoader from "dataloader";
import { apiKeyRole, encodeCursor, importStructureTexts, listMaterials, openDatabase, ValidationError, type IonRankDb, type Pathway, type Prediction } from "@ionrank/db";
import type { ApiEnv } from "./env.js";
import { apiError, ErrorCode } from "./errors.js";
import { typeDefs } from "./schema.js";

interface Context {
  db: IonRankDb;
  role: string | null;
  pathwaysByMaterial: DataLoader<string, Pathway[]>;
  predictionsByPathway: DataLoader<string, Prediction[]>;
}

function loaders(db: IonRankDb) {
  // One query per level of the tree, however many parents a page has.
  return {
    pathwaysByMaterial: new DataLoader<string, Pathway[]>(async (ids) => {
      const rows = await db.prisma.pathway.findMany({ where: { materialId: { in: [...ids] } }, orderBy: { hopLength: "asc" } });
      return ids.map((id) => rows.filter((r) => r.materialId === id));
    }),
    predictionsByPathway: new DataLoader<string, Prediction[]>(async (ids) => {
      const rows = await db.prisma.prediction.findMany({ where: { pathwayId: { in: [...ids] } }, orderBy: { createdAt: "desc" } });
      return ids.map((id) => rows.filter((r) => r.pathwayId === id));
    }),
  };
}

function requireEditor(ctx: Context): void {
  if (ctx.role === null) throw apiError(ErrorCode.Unauthenticated, "this mutation needs an API key: Authorization: Bearer <key> (create one with `ionrank apikey create --role editor`)");
  if (ctx.role === "reader") throw apiError(ErrorCode.Forbidden, "this API key may only read");
}

const resolvers = {
  Query: {
    materials: async (_: unknown, a: { ion?: string; first?: number; after?: string }, ctx: Context) => {
      try {
        const page = await listMaterials(ctx.db, { ...(a.ion ? { ion: a.ion } : {}), ...(a.first != null ? { first: a.first } : {}), ...(a.after ? { after: a.after } : {}) });
        return { edges: page.items.map((node) => ({ node, cursor: encodeCursor(node.id) })), pageInfo: page.pageInfo };
      } catch (e) {
        if (e instanceof ValidationError) throw apiError(ErrorCode.BadUserInput, e.message);
        throw e;
      }
    },
    material: (_: unknown, a: { id: string }, ctx: Context) => ctx.db.prisma.material.findUnique({ where: { id: a.id } }),
    importJob: async (_: unknown, a: { id: string }, ctx: Context) => {
      const job = await ctx.db.prisma.importJob.findUnique({ where: { id: a.id } });
      return job ? { ...job, errors: JSON.parse(job.errors) } : null;
    },
  },
  Mutation: {
    importStructures: async (_: unknown, a: { structures: { name: string; format?: string; content: string }[]; ion?: string; predict?: boolean }, ctx: Context) => {
      requireEditor(ctx);
      if (a.predict) throw apiError(ErrorCode.BadUserInput, "predict: true is not available yet in this API version (import, then predict with `ionrank predict`)");
      try {
        return await importStructureTexts(ctx.db, a.structures, { ion: a.ion ?? null });
      } catch (e) {
        if (e instanceof ValidationError) throw apiError(ErrorCode.BadUserInput, e.message);
        throw e;
      }
    },
  },
  Material: {
    elements: (m: { elements: string }) => m.elements.split(",").filter(Boolean),
    createdAt: (m: { createdAt: Date }) => m.createdAt.toISOString(),
    pathways: (m: { id: string }, _: unknown, ctx: Context) => ctx.pathwaysByMaterial.load(m.id),
  },
  Pathway: {
    predictions: (p: { id: string }, _: unknown, ctx: Context) => ctx.predictionsByPathway.load(p.id),
  },
  Prediction: {
    createdAt: (p: { createdAt: Date }) => p.createdAt.toISOString(),
  },
};

/** Start the GraphQL API; resolves with its URL and a stop function. */
export async function startApi(env: ApiEnv): Promise<{ url: string; stop: () => Promise<void> }> {
  const db = await openDatabase({ ...(env.databaseUrl ? { url: env.databaseUrl } : { dataDir: env.dataDir }) });
  const server = new ApolloServer<Context>({
    typeDefs,
    resolvers,
    // Stack traces never reach clients in production; every error keeps its code.
    includeStacktraceInErrorResponses: !env.production,
    csrfPrevention: true,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: env.host, port: env.port },
    context: async ({ req }) => {
      const auth = req.headers.authorization;
      const key = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : null;
      const role = key ? await apiKeyRole(db, key) : null;
      if (key && role === null) throw apiError(ErrorCode.Unauthenticated, "unknown API key");
      return { db, role, ...loaders(db) };
    },
  });
  return {
    url,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
