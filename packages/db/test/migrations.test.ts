import { mkdirSync, writeFileSync, cpSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { MigrationError, DatabaseOpenError, defaultMigrationsDir, openDatabase, readMigrations } from "../src/index.js";
import { tempDir } from "./helpers.js";

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

  it("rejects URLs it cannot serve", async () => {
    await expect(openDatabase({ url: "postgresql://localhost/ionrank" })).rejects.toBeInstanceOf(DatabaseOpenError);
    await expect(openDatabase({ url: "file::memory:" })).rejects.toBeInstanceOf(DatabaseOpenError);
  });
});
