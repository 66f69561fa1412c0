import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { readCif, readPoscar } from "@ionrank/crystal";
import {
  MigrationError,
  DatabaseOpenError,
  contentHash,
  defaultMigrationsDir,
  importItems,
  IMPORT_STALE_MS,
  openDatabase,
  readMigrations,
  storedStructure,
  structureKey,
  structureKeyOfJson,
  UNKEYABLE,
} from "../src/index.js";
import { freshPostgresUrl, poscarOfCif, tempDir } from "./helpers.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
}

describe("openDatabase", () => {
  it("creates the file, applies every migration and records it for prisma migrate", async () => {
    const dir = tempDir();
    const db = await openDatabase({ dataDir: path.join(dir, "nested", "data") });
    try {
      expect(db.file!).toBe(path.join(dir, "nested", "data", "ionrank.db"));
      expect(db.appliedMigrations).toEqual(readMigrations(defaultMigrationsDir()).map((m) => m.name));
      expect(db.appliedMigrations.length).toBeGreaterThan(0);
      expect(await db.prisma.material.count()).toBe(0);
    } finally {
      await db.close();
    }
    expect(tables(db.file!)).toEqual(
      expect.arrayContaining(["ApiKey", "ImportJob", "Material", "Model", "Pathway", "Prediction", "_prisma_migrations"]),
    );
    const raw = new Database(db.file!, { readonly: true });
    const rows = raw.prepare("SELECT migration_name, checksum, finished_at FROM _prisma_migrations").all();
    raw.close();
    expect(rows).toHaveLength(db.appliedMigrations.length);
  });

  it("is idempotent: re-opening applies nothing and keeps the data", async () => {
    const url = `file:${path.join(tempDir(), "ionrank.db")}`;
    const first = await openDatabase({ url });
    await first.prisma.apiKey.create({ data: { hash: "abc", role: "reader" } });
    await first.close();

    const second = await openDatabase({ url });
    try {
      expect(second.appliedMigrations).toEqual([]);
      expect(await second.prisma.apiKey.count()).toBe(1);
    } finally {
      await second.close();
    }
  });

  it("turns on WAL journal mode", async () => {
    const db = await openDatabase({ dataDir: tempDir() });
    await db.close();
    const raw = new Database(db.file!);
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
  });

  it("refuses to run when an applied migration's file changed", async () => {
    const dir = tempDir();
    const migrationsDir = path.join(dir, "migrations");
    cpSync(defaultMigrationsDir(), migrationsDir, { recursive: true });
    const db = await openDatabase({ dataDir: dir, migrationsDir });
    await db.close();
    const [firstMigration] = readMigrations(migrationsDir);
    writeFileSync(path.join(migrationsDir, firstMigration!.name, "migration.sql"), `${firstMigration!.sql}\n-- edited\n`);
    await expect(openDatabase({ dataDir: dir, migrationsDir })).rejects.toBeInstanceOf(MigrationError);
  });

  it("rolls back a failing migration and names it", async () => {
    const dir = tempDir();
    const migrationsDir = path.join(dir, "migrations");
    cpSync(defaultMigrationsDir(), migrationsDir, { recursive: true });
    mkdirSync(path.join(migrationsDir, "99990101000000_broken"));
    writeFileSync(
      path.join(migrationsDir, "99990101000000_broken", "migration.sql"),
      'CREATE TABLE "Half" ("id" TEXT);\nTHIS IS NOT SQL;\n',
    );
    const error = await openDatabase({ dataDir: dir, migrationsDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe("99990101000000_broken");
    const names = tables(path.join(dir, "ionrank.db"));
    expect(names).toContain("Material");
    expect(names).not.toContain("Half");
  });

  /**
   * A database as it was before the migration named `*_${suffix}`: opened with the migrations before it only.
   * `upgrade()` puts the later ones back and reopens it.
   */
  async function databaseBefore(suffix: string, provider: "sqlite" | "postgresql" = "sqlite") {
    const dir = tempDir();
    const migrationsDir = path.join(dir, "migrations");
    cpSync(defaultMigrationsDir(provider), migrationsDir, { recursive: true });
    const where = provider === "sqlite" ? { dataDir: dir } : { url: await freshPostgresUrl() };
    const all = readMigrations(migrationsDir);
    const upgrade = all.find((m) => m.name.endsWith(`_${suffix}`))!;
    expect(upgrade).toBeDefined();
    const later = all.filter((m) => m.name >= upgrade.name);
    const parked = path.join(dir, "parked");
    mkdirSync(parked);
    for (const m of later) cpSync(path.join(migrationsDir, m.name), path.join(parked, m.name), { recursive: true });
    for (const m of later) rmSync(path.join(migrationsDir, m.name), { recursive: true });
    const before = await openDatabase({ ...where, migrationsDir });
    return {
      before,
      later,
      upgrade: async () => {
        for (const m of later) cpSync(path.join(parked, m.name), path.join(migrationsDir, m.name), { recursive: true });
        return openDatabase({ ...where, migrationsDir });
      },
    };
  }

  it("upgrading a database with duplicate predictions keeps the newest of each (pathway, model) and adds warnings", async () => {
    const { before, later, upgrade } = await databaseBefore("prediction_unique_warnings");
    // Only the id back: this client's Material has columns (structureKey) that a database this old lacks.
    const material = await before.prisma.material.create({ data: { name: "m", formula: "Li1", reducedFormula: "Li", elements: "Li", contentHash: "h", structure: "{}" }, select: { id: true } });
    const pathway = await before.prisma.pathway.create({ data: { materialId: material.id, ion: "Li", initial: "[0,0,0]", final: "[0.5,0,0]", hopLength: 2, contentHash: "p" } });
    const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 12, 0, s));
    for (const [id, model, em, s] of [["a", "em@1", 0.1, 1], ["b", "em@1", 0.2, 3], ["c", "em@1", 0.3, 2], ["d", "em@2", 0.4, 1]] as const) {
      await before.prisma.$executeRawUnsafe(`INSERT INTO "Prediction" (id, "pathwayId", model, "emPredicted", "emStd", "pGood", "createdAt") VALUES (?, ?, ?, ?, 0.1, 0.5, ?)`, id, pathway.id, model, em, at(s).getTime());
    }
    await before.close();

    const after = await upgrade();
    try {
      expect(after.appliedMigrations).toEqual(later.map((m) => m.name));
      const rows = await after.prisma.prediction.findMany({ orderBy: { model: "asc" } });
      expect(rows.map((r) => [r.id, r.model, r.emPredicted, r.warnings])).toEqual([["b", "em@1", 0.2, "[]"], ["d", "em@2", 0.4, "[]"]]);
      await expect(after.prisma.prediction.create({ data: { pathwayId: pathway.id, model: "em@1", emPredicted: 1, emStd: 0, pGood: 0 } })).rejects.toMatchObject({ code: "P2002" });
    } finally {
      await after.close();
    }
  });

  it.each(["sqlite", "postgresql"] as const)("upgrading (%s) gives the notices written before kinds existed their kind, from their messages", async (provider) => {
    const { before, upgrade } = await databaseBefore("import_notice_kinds", provider);
    // Only the id back: this client's ImportJob has a column (owner) that a database this old lacks.
    const job = await before.prisma.importJob.create({ data: { status: "DONE", kind: "import" }, select: { id: true } });
    const messages = [
      "pathway 0b1c could not be predicted: Na is outside this model",
      "the structure has no Na sites; stored without Na pathways",
      "two.cif [NaCl]: the structure has no Li sites; stored without Li pathways",
      "no Li hops up to 5 Å between its Li sites: the nearest two are 6.02 Å apart; stored without Li pathways",
      "something else",
    ];
    for (const [i, message] of messages.entries()) {
      const [a, b, c, d] = provider === "sqlite" ? ["?", "?", "?", "?"] : ["$1", "$2", "$3", "$4"];
      await before.prisma.$executeRawUnsafe(`INSERT INTO "ImportItemNotice" (id, "jobId", name, "index", message) VALUES (${a}, ${b}, 'x.cif', ${c}, ${d})`, `n${i}`, job.id, i, message);
    }
    await before.close();
    const after = await upgrade();
    try {
      const rows = await after.prisma.importItemNotice.findMany({ orderBy: { index: "asc" } });
      expect(rows.map((r) => r.kind)).toEqual(["UNPREDICTED", "NO_ION", "NO_ION", "NO_HOPS", "NOTE"]);
    } finally {
      await after.close();
    }
  });

  it.each(["sqlite", "postgresql"] as const)("upgrading (%s) gives every stored material its structure key, so a crystal stored before is found in another format", async (provider) => {
    const { before, later, upgrade } = await databaseBefore("structure_key", provider);
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const fromCif = storedStructure(readCif(cif)[0]!);
    const fromPoscar = storedStructure(readPoscar(poscarOfCif(cif)));
    const rows = [
      { name: "LiCoO2.cif", structure: fromCif, createdAt: new Date(Date.UTC(2026, 10, 1)) },
      // The bug this key fixes: the same crystal stored twice, from another file format.
      { name: "LiCoO2.POSCAR", structure: fromPoscar, createdAt: new Date(Date.UTC(2026, 10, 2)) },
    ];
    for (const r of rows) {
      const data = { name: r.name, formula: "Li3 Co3 O6", reducedFormula: "LiCoO2", elements: "Co,Li,O", contentHash: contentHash(r.structure), structure: JSON.stringify(r.structure), createdAt: r.createdAt };
      await before.prisma.material.create({ data, select: { id: true } });
    }
    await before.prisma.material.create({ data: { name: "hand-made", formula: "Li1", reducedFormula: "Li", elements: "Li", contentHash: "h", structure: "{}" }, select: { id: true } });
    await before.close();

    const after = await upgrade();
    try {
      expect(after.appliedMigrations).toEqual(later.map((m) => m.name));
      const keys = Object.fromEntries((await after.prisma.material.findMany()).map((m) => [m.name, m.structureKey]));
      expect(keys).toEqual({ "LiCoO2.cif": structureKey(fromCif), "LiCoO2.POSCAR": structureKey(fromCif), "hand-made": UNKEYABLE });
      // Both old rows stay; a new import of the crystal is the oldest of them.
      const done = await importItems(after, [{ name: "fixture.POSCAR", text: readFileSync(path.join(FIX, "LiCoO2.POSCAR"), "utf8") }]);
      expect(done.notices).toEqual([{ name: "fixture.POSCAR", index: 0, kind: "DUPLICATE", message: 'already stored as "LiCoO2.cif"; nothing new written' }]);
      // A row written without a key since (an older IonRank on the same database) gets it at the next open.
      const shifted = { ...fromCif, sites: fromCif.sites.map((x) => ({ ...x, frac: x.frac.map((f) => f + 0.5) as [number, number, number] })) };
      await after.prisma.material.create({ data: { name: "old writer", formula: "Li3 Co3 O6", reducedFormula: "LiCoO2", elements: "Co,Li,O", contentHash: contentHash(shifted), structure: JSON.stringify(shifted) } });
    } finally {
      await after.close();
    }
    const reopened = await upgrade();
    try {
      expect(reopened.appliedMigrations).toEqual([]);
      expect(await reopened.prisma.material.count({ where: { structureKey: null } })).toBe(0);
      const old = await reopened.prisma.material.findFirstOrThrow({ where: { name: "old writer" } });
      expect(old.structureKey).toBe(structureKeyOfJson(old.structure));
    } finally {
      await reopened.close();
    }
  });

  it.each(["sqlite", "postgresql"] as const)("upgrading (%s) leaves the owner of jobs from before unknown: a running one is judged by its heartbeat", async (provider) => {
    const { before, later, upgrade } = await databaseBefore("import_job_owner", provider);
    // Only the ids back: this client's ImportJob has a column (owner) that the database lacks yet.
    const [live, stale] = await Promise.all([new Date(), new Date(Date.now() - IMPORT_STALE_MS - 60_000)].map((updatedAt) => before.prisma.importJob.create({ data: { status: "RUNNING", kind: "import", updatedAt }, select: { id: true } })));
    await before.close();
    const after = await upgrade();
    try {
      expect(after.appliedMigrations).toEqual(later.map((m) => m.name));
      expect((await after.prisma.importJob.findMany()).map((j) => j.owner)).toEqual([null, null]);
      await expect(importItems(after, [], { resumeJob: live!.id })).rejects.toThrowError(/is still running \(an unknown process, last heartbeat \d+ s ago\)/);
      expect(await importItems(after, [], { resumeJob: stale!.id })).toMatchObject({ id: stale!.id, status: "DONE" });
    } finally {
      await after.close();
    }
  });

  it("rejects URLs it cannot serve", async () => {
    await expect(openDatabase({ url: "postgresql://localhost/ionrank" })).rejects.toBeInstanceOf(DatabaseOpenError);
    await expect(openDatabase({ url: "file::memory:" })).rejects.toBeInstanceOf(DatabaseOpenError);
    await expect(openDatabase({ url: "file:/proc/nope/x.db" })).rejects.toThrowError(/is on a kernel file system/);
  });
});
