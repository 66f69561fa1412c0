import { deleteMaterials, type IonRankDb } from "@ionrank/db";
import type { StartedApi } from "../src/server.js";

/**
 * Runs `during` while another client (`other`, its own connection) deletes `materialId` right after the server's
 * first `read` of pathways that returns `pathwayId`: the server's Prisma client is wrapped so that the race happens at
 * that moment every time. Says whether the delete happened.
 */
export async function deletedAfterRead<T>(
  api: StartedApi,
  other: IonRankDb,
  read: "findUnique" | "findMany",
  ids: { pathwayId: string; materialId: string },
  during: () => Promise<T>,
): Promise<{ result: T; deleted: boolean }> {
  const real = api.db.prisma;
  const served = api.db as { prisma: typeof real }; // the object every request's context holds
  let deleted = false;
  const after = async <R>(rows: R): Promise<R> => {
    const list = (Array.isArray(rows) ? rows : [rows]) as ({ id?: string } | null)[];
    if (!deleted && list.some((r) => r?.id === ids.pathwayId)) {
      deleted = true;
      await deleteMaterials(other, [ids.materialId]);
    }
    return rows;
  };
  served.prisma = real.$extends({
    query: { pathway: { [read]: async ({ args, query }: { args: unknown; query: (a: unknown) => Promise<unknown> }) => after(await query(args)) } },
  }) as unknown as typeof real;
  try {
    return { result: await during(), deleted };
  } finally {
    served.prisma = real;
  }
}
