import { createHash, randomBytes } from "node:crypto";
import type { IonRankDb } from "./open.js";

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
