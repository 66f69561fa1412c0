import { execFileSync } from "node:child_process";
import Database from "better-sqlite3";
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enumerateHops, hopPathway, Pathway, readCif, readJsonStructures } from "@ionrank/crystal";
import { importItems, importPath, openDatabase, listPathways, pathStructureOf, predictPathways, readSource, refreshRankings, searchMaterials, ValidationError, type IonRankDb, type SourceItem, type StoredStructure } from "../src/index.js";
import { BACKENDS, poscarOfCif, tempDir } from "./helpers.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));
const TRAIN = fileURLToPath(new URL("../../../../shared/data/em/train.json", import.meta.url));
const train = JSON.parse(readFileSync(TRAIN, "utf8")) as { sys_name: string; target: number; atoms: unknown }[];

describe("import sources", () => {
  it("reads directories in name order, tar.gz archives, NDJSON (naming bad lines) and JSON lists", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "src", "sub"), { recursive: true });
    writeFileSync(path.join(dir, "src", "b.cif"), readFileSync(path.join(FIX, "LiFePO4.cif")));
    writeFileSync(path.join(dir, "src", "sub", "a.cif"), readFileSync(path.join(FIX, "NaCl.cif")));
    writeFileSync(path.join(dir, "src", "notes.txt"), "ignored");
    writeFileSync(path.join(dir, "src", "c.ndjson"), `${JSON.stringify(train[0])}\n{broken\n\n${JSON.stringify(train[1])}\n`);
    writeFileSync(path.join(dir, "src", "d.json.gz"), gzipSync(JSON.stringify(train.slice(2, 4))));
    execFileSync("tar", ["czf", path.join(dir, "src", "e.tar.gz"), "-C", FIX, "LiCoO2.cif", "LiMn2O4.cif"]);
    const items: SourceItem[] = [];
    for await (const it of readSource(path.join(dir, "src"))) items.push(it);
    expect(items.map((i) => i.name)).toEqual(["b.cif", "c.ndjson:1", "c.ndjson:2", "c.ndjson:4", "d.json.gz#0", "d.json.gz#1", "e.tar.gz:LiCoO2.cif", "e.tar.gz:LiMn2O4.cif", "sub/a.cif"]);
    expect(items[2]!.error).toMatch(/line 2 is not valid JSON/);
    expect(items[6]!.text).toBe(readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8"));
  });

  it("follows a symbolic link back up the tree once, not forever, and names a dangling one", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "a", "b"), { recursive: true });
    writeFileSync(path.join(dir, "a", "b", "LiCoO2.cif"), readFileSync(path.join(FIX, "LiCoO2.cif")));
    symlinkSync("..", path.join(dir, "a", "b", "up"));
    symlinkSync(path.join(dir, "nowhere.cif"), path.join(dir, "a", "gone.cif"));
    const items: SourceItem[] = [];
    for await (const it of readSource(dir)) items.push(it);
    expect(items.map((i) => [i.name, i.error ?? null])).toEqual([
      ["a/b/LiCoO2.cif", null],
      ["a/b/up", `folder already read (a symbolic link to ${realpathSync(path.join(dir, "a"))}): skipped`],
      ["a/gone.cif", "cannot read: no such file"],
    ]);
  });

  it("a corrupt or truncated gzip is that item's error; the files after it are still read", async () => {
    const dir = tempDir();
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"));
    const cut = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2));
    writeFileSync(path.join(dir, "a.cif.gz"), cut(gzipSync(cif)));
    execFileSync("tar", ["czf", path.join(dir, "whole.tar.gz"), "-C", FIX, "LiCoO2.cif", "LiMn2O4.cif", "LiFePO4.cif"]);
    writeFileSync(path.join(dir, "b.tar.gz"), cut(readFileSync(path.join(dir, "whole.tar.gz"))));
    writeFileSync(path.join(dir, "c.ndjson.gz"), cut(gzipSync(Buffer.from(train.slice(0, 20).map((e) => JSON.stringify(e)).join("\n")))));
    writeFileSync(path.join(dir, "d.cif.gz"), Buffer.from("not gzip at all"));
    writeFileSync(path.join(dir, "e.cif"), cif);
    const items: SourceItem[] = [];
    for (const f of ["a.cif.gz", "b.tar.gz", "c.ndjson.gz", "d.cif.gz", "e.cif"]) for await (const it of readSource(path.join(dir, f))) items.push(it);
    const errors = items.filter((i) => i.error).map((i) => [i.name, i.error]);
    expect(errors).toEqual([
      ["a.cif.gz", expect.stringMatching(/corrupt or truncated gzip data/)],
      ["b.tar.gz", expect.stringMatching(/cannot read the archive/)],
      [expect.stringMatching(/^c\.ndjson\.gz:\d+$/), expect.stringMatching(/cannot read past line \d+/)],
      ["d.cif.gz", expect.stringMatching(/corrupt or truncated gzip data/)],
    ]);
    // Entries before the break are kept; the good file after it is read.
    expect(items.filter((i) => i.name.startsWith("c.ndjson.gz") && i.entry).length).toBeGreaterThan(0);
    expect(items.at(-1)).toMatchObject({ name: "e.cif", text: cif.toString("utf8") });
  });
});

describe("import sources: archives and files a user may drop in", () => {
  const read = async (p: string, maxItemBytes?: number) => {
    const items: SourceItem[] = [];
    for await (const it of readSource(p, maxItemBytes ? { maxItemBytes } : {})) items.push(it);
    return items;
  };

  it("names the files of a folder by their path in it: two runs' POSCARs stay apart", async () => {
    const dir = tempDir();
    for (const run of ["run1", "run2"]) {
      mkdirSync(path.join(dir, run));
      writeFileSync(path.join(dir, run, "POSCAR"), readFileSync(path.join(FIX, "LiCoO2.POSCAR")));
    }
    expect((await read(dir)).map((i) => i.name)).toEqual(["run1/POSCAR", "run2/POSCAR"]);
    expect((await read(path.join(dir, "run1", "POSCAR"))).map((i) => i.name)).toEqual(["POSCAR"]);
  });

  it("reads pax archives' long and non-ASCII member names instead of dropping or mangling them", async () => {
    const dir = tempDir();
    const long = `${"x".repeat(120)}/LiCoO2.cif`;
    mkdirSync(path.join(dir, "src", "x".repeat(120)), { recursive: true });
    mkdirSync(path.join(dir, "src", "ünïcødé"));
    writeFileSync(path.join(dir, "src", long), readFileSync(path.join(FIX, "LiCoO2.cif")));
    writeFileSync(path.join(dir, "src", "ünïcødé", "LiFePO4é.cif"), readFileSync(path.join(FIX, "LiFePO4.cif")));
    execFileSync("tar", ["--format=pax", "-cf", path.join(dir, "set.tar"), "-C", path.join(dir, "src"), long, "ünïcødé/LiFePO4é.cif"]);
    const items = await read(path.join(dir, "set.tar"));
    expect(items.map((i) => [i.name, i.error ?? null])).toEqual([
      [`set.tar:${long}`, null],
      ["set.tar:ünïcødé/LiFePO4é.cif", null],
    ]);
    expect(items[1]!.text).toBe(readFileSync(path.join(FIX, "LiFePO4.cif"), "utf8"));
  });

  it("says why an empty, corrupt or unsupported archive and a FIFO give nothing, without hanging", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "a-empty.tar"), "");
    writeFileSync(path.join(dir, "b-empty.tar.gz"), gzipSync(Buffer.alloc(0)));
    writeFileSync(path.join(dir, "c-noise.tar"), Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 251)));
    writeFileSync(path.join(dir, "d-set.zip"), "PK\x03\x04");
    execFileSync("mkfifo", [path.join(dir, "e-pipe.cif")]);
    expect((await read(dir)).map((i) => [i.name, i.error])).toEqual([
      ["a-empty.tar", "the archive is empty"],
      ["b-empty.tar.gz", "the archive is empty"],
      ["c-noise.tar", "not a tar archive, or a corrupt one: the header at byte 0 fails its checksum"],
      ["d-set.zip", "this kind of archive is not read: unpack it, or pack it as .tar or .tar.gz"],
      ["e-pipe.cif", "not a regular file (a FIFO, socket or device): skipped"],
    ]);
  });

  it("a file or archive member too large to read is that item's error; the items after it are read", async () => {
    const dir = tempDir();
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"));
    writeFileSync(path.join(dir, "big.cif"), Buffer.concat([cif, Buffer.alloc(8192, 0x23)]));
    writeFileSync(path.join(dir, "big.cif.gz"), gzipSync(Buffer.concat([cif, Buffer.alloc(8192, 0x23)])));
    execFileSync("tar", ["cf", path.join(dir, "set.tar"), "-C", dir, "big.cif", "-C", FIX, "LiCoO2.cif"]);
    writeFileSync(path.join(dir, "ok.cif"), cif);
    const items = await read(dir, 4096);
    const size = cif.length + 8192;
    expect(items.map((i) => [i.name, i.error ?? null])).toEqual([
      ["big.cif", `file is ${size} bytes, more than the 4096 bytes one item may have`],
      ["big.cif.gz", "unpacks to more than the 4096 bytes one item may have"],
      ["ok.cif", null],
      ["set.tar:big.cif", `member is ${size} bytes, more than the 4096 bytes one item may have`],
      ["set.tar:LiCoO2.cif", null],
    ]);
  });
});

describe("bulk import on one SQLite file from two connections", () => {
  it("a batch that finds the write lock held by another process waits its turn instead of failing the import", async () => {
    const dir = tempDir();
    const db = await openDatabase({ dataDir: dir, busyTimeoutMs: 50 });
    // Another process's import commits a batch while this one reads: it holds SQLite's write lock for a while.
    const other = new Database(db.file!);
    let release: NodeJS.Timeout | undefined;
    const holdLock = () => {
      other.exec("BEGIN IMMEDIATE");
      release = setTimeout(() => other.exec("COMMIT"), 300);
    };
    try {
      const done = await importItems(db, [{ name: "LiCoO2.cif", text: readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8") }], { ion: "Li", onStart: holdLock });
      clearTimeout(release);
      expect(done).toMatchObject({ status: "DONE", processed: 1, imported: 1, failed: 0 });
      expect(await db.prisma.material.count()).toBe(1);
    } finally {
      if (other.inTransaction) other.exec("COMMIT");
      other.close();
      await db.close();
    }
  });

  it("two imports of the same folder at once both finish with consistent counts (no 'database is locked')", async () => {
    const dir = tempDir();
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const items = Array.from({ length: 60 }, (_, i) => ({ name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
    // Two clients (two SQLite connections), as two `ionrank import` processes would have.
    const [a, b] = await Promise.all([1, 2].map(() => openDatabase({ dataDir: dir, busyTimeoutMs: 50 })));
    try {
      const [ra, rb] = await Promise.all([importItems(a!, items, { ion: "Li", batchSize: 5 }), importItems(b!, items, { ion: "Li", batchSize: 5 })]);
      expect([ra.status, rb.status, ra.processed, rb.processed, ra.failed, rb.failed]).toEqual(["DONE", "DONE", 60, 60, 0, 0]);
      expect(await a!.prisma.material.count()).toBe(60);
      // Each item was stored by exactly one of the two; the other counted it as already stored.
      expect(ra.duplicates + rb.duplicates).toBe(60);
      expect(ra.pathways + rb.pathways).toBe(await a!.prisma.pathway.count());
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it("two imports of one set of crystals in two formats at once store each crystal once", async () => {
    const dir = tempDir();
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const cifs = Array.from({ length: 20 }, (_, i) => ({ name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
    const poscars = cifs.map((c, i) => ({ name: `s${i}.POSCAR`, text: poscarOfCif(c.text) }));
    const [a, b] = await Promise.all([1, 2].map(() => openDatabase({ dataDir: dir, busyTimeoutMs: 50 })));
    try {
      const [ra, rb] = await Promise.all([importItems(a!, cifs, { ion: "Li", batchSize: 4 }), importItems(b!, poscars, { ion: "Li", batchSize: 4 })]);
      expect([ra.status, rb.status, ra.failed, rb.failed, ra.duplicates + rb.duplicates]).toEqual(["DONE", "DONE", 0, 0, 20]);
      expect(await a!.prisma.material.count()).toBe(20);
      expect(ra.pathways + rb.pathways).toBe(await a!.prisma.pathway.count());
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});

describe.each(BACKENDS)("bulk import and rankings on $name", ({ open }) => {
  let db: IonRankDb;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it("an unphysical cell is one failed entry with its reason, not a hung import", async () => {
    const tiny = "data_tiny\n_cell_length_a 0.35\n_cell_length_b 0.35\n_cell_length_c 0.35\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n" +
      "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nLi1 Li 0 0 0\n";
    const items = [{ name: "tiny.cif", text: tiny }, { name: "LiCoO2.cif", text: readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8") }];
    const done = await importItems(db, items, { ion: "Li" });
    expect(done).toMatchObject({ status: "DONE", imported: 1, failed: 1 });
    expect(done.errors[0]).toMatchObject({ index: 0, name: "tiny.cif" });
    expect(done.errors[0]!.reason).toMatch(/cell is only 0\.350 Å thick between lattice planes, less than 0\.5 Å/);
    expect(await db.prisma.material.count()).toBe(1);
  });

  it("a binary file (NUL bytes) is one failed item, and a NUL in a good file's comment no reason to fail it (PostgreSQL text cannot hold U+0000)", async () => {
    const licoo2 = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const items = [{ name: "garbage.cif", text: "\0\u0001binary" }, { name: "commented.cif", text: `# written by a tool that left a \0 here\n${licoo2}` }];
    const done = await importItems(db, items, { ion: "Li" });
    expect(done).toMatchObject({ status: "DONE", imported: 1, failed: 1 });
    const [error] = await db.prisma.importItemError.findMany({ where: { jobId: done.id } });
    expect(error).toMatchObject({ name: "garbage.cif", index: 0 });
    // The reader escapes control characters itself, so the stored reason shows the bytes as \u escapes.
    expect(error!.reason).toContain(`garbage.cif, line 1: value "\\u0000\\u0001binary" has no tag`);
    expect(await db.prisma.material.count({ where: { name: "commented.cif" } })).toBe(1);
    // A NUL that reaches a stored name (a CIF block's, which names the material of a multi-block file) is stored as
    // U+FFFD on both databases; PostgreSQL refused the whole batch before.
    const shifted = (block: string, a: string) => licoo2.replace("data_LiCoO2", `data_${block}`).replace(/_cell_length_a\s+\S+/, `_cell_length_a ${a}`);
    const two = await importItems(db, [{ name: "two.cif", text: `${shifted("a\0b", "2.90")}\n${shifted("c", "2.95")}` }], { ion: "Li" });
    expect(two).toMatchObject({ status: "DONE", imported: 2, failed: 0 });
    expect(await db.prisma.material.count({ where: { name: "two.cif [a\uFFFDb]" } })).toBe(1);
  });

  it("a structure with the ion but no hops of it within 5 Å is stored with a notice saying why, not silently", async () => {
    const items = [{ name: "LiTi2PO43.cif", text: readFileSync(path.join(FIX, "LiTi2PO43.cif"), "utf8") }, { name: "LiCoO2.cif", text: readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8") }];
    const done = await importItems(db, items, { ion: "Li" });
    expect(done).toMatchObject({ status: "DONE", imported: 2, failed: 0 });
    expect(done.notices).toEqual([{ name: "LiTi2PO43.cif", index: 0, kind: "NO_HOPS", message: expect.stringMatching(/^no Li hops up to 5 Å between its Li sites: the nearest two are \d\.\d\d Å apart .*; stored without Li pathways$/) }]);
    const nasicon = await db.prisma.material.findFirstOrThrow({ where: { name: "LiTi2PO43.cif" }, include: { pathways: true } });
    expect(nasicon.pathways).toEqual([]);
    expect(await db.prisma.importItemNotice.count({ where: { jobId: done.id } })).toBe(1);
  });

  it("hands a re-import's already stored pathways to onPathways too, so importing again with prediction predicts them", async () => {
    const items = [{ name: "LiCoO2.cif", text: readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8") }];
    await importItems(db, items, { ion: "Li" });
    const stored = (await db.prisma.pathway.findMany({ select: { id: true } })).map((p) => p.id).sort();
    expect(stored.length).toBeGreaterThan(0);
    const handed: string[] = [];
    const again = await importItems(db, items, { ion: "Li", onPathways: async (ids) => void handed.push(...ids) });
    expect(again).toMatchObject({ duplicates: 1, pathways: 0 });
    expect(again.notices).toEqual([{ name: "LiCoO2.cif", index: 0, kind: "DUPLICATE", message: "already stored; nothing new written" }]);
    expect(handed.sort()).toEqual(stored);
  });

  it("a pathway imported with prediction that cannot be predicted is a notice on its item, not silently unpredicted", async () => {
    const items = [{ name: "NaCl.cif", text: readFileSync(path.join(FIX, "NaCl.cif"), "utf8") }, { name: "LiCoO2.cif", text: readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8") }];
    // A stand-in predictor that cannot predict sodium hops.
    const predict = async (xs: { structure: { sites: { element: string }[] }; isImage: Uint8Array }[]) =>
      xs.map((x) => (x.structure.sites[0]!.element === "Na" ? new Error("Na is outside this model") : { emPredicted: 0.3, emStd: 0.05, pGood: 0.9, model: "stub@1" }));
    const ionOf = async (ion: "Li" | "Na") => importItems(db, items, { ion, onPathways: (ids) => predictPathways(db, predict as never, "stub@1", { pathwayIds: ids }) });
    const na = await ionOf("Na");
    const naHops = await db.prisma.pathway.count({ where: { ion: "Na" } });
    expect(naHops).toBeGreaterThan(0);
    // Every Na hop of NaCl failed to predict; LiCoO2 has no Na at all. Both are said.
    const failedHops = na.notices.filter((n) => n.name === "NaCl.cif");
    expect(failedHops).toHaveLength(naHops);
    expect(failedHops.every((n) => n.index === 0 && n.kind === "UNPREDICTED" && /^pathway \S+ could not be predicted: Na is outside this model$/.test(n.message))).toBe(true);
    expect(na.notices.filter((n) => n.name !== "NaCl.cif")).toEqual([{ name: "LiCoO2.cif", index: 1, kind: "NO_ION", message: "the structure has no Na sites; stored without Na pathways" }]);
    const li = await ionOf("Li");
    // NaCl was stored by the Na import and gains nothing (no Li): a duplicate; LiCoO2 gains its Li hops.
    expect(li.notices).toEqual([
      { name: "NaCl.cif", index: 0, kind: "DUPLICATE", message: "already stored; nothing new written" },
      { name: "NaCl.cif", index: 0, kind: "NO_ION", message: "the structure has no Li sites; stored without Li pathways" },
    ]);
    expect(li.duplicates).toBe(1);
    expect(await db.prisma.prediction.count()).toBe(await db.prisma.pathway.count({ where: { ion: "Li" } }));
  });

  it("says which items (and which blocks of a file) were already stored, and as what", async () => {
    const cif = (f: string) => readFileSync(path.join(FIX, f), "utf8");
    await importItems(db, [{ name: "first/LiCoO2.cif", text: cif("LiCoO2.cif") }], { ion: "Li" });
    const done = await importItems(
      db,
      [
        { name: "LiCoO2.cif", text: cif("LiCoO2.cif") }, // stored before, under another name
        { name: "both.cif", text: `${cif("LiCoO2.cif")}\n${cif("LiMn2O4.cif")}` }, // one old block, one new
        { name: "LiMn2O4-again.cif", text: cif("LiMn2O4.cif") }, // stored by the item before it, same job
      ],
      { ion: "Li", batchSize: 2 },
    );
    expect(done).toMatchObject({ status: "DONE", imported: 4, duplicates: 3, failed: 0 });
    expect(done.notices).toEqual([
      { name: "LiCoO2.cif", index: 0, kind: "DUPLICATE", message: 'already stored as "first/LiCoO2.cif"; nothing new written' },
      { name: "both.cif", index: 1, kind: "DUPLICATE", message: 'both.cif [LiCoO2]: already stored as "first/LiCoO2.cif"; nothing new written' },
      { name: "LiMn2O4-again.cif", index: 2, kind: "DUPLICATE", message: 'already stored as "both.cif [LiMn2O4]"; nothing new written' },
    ]);
    expect((await db.prisma.material.findMany({ orderBy: { name: "asc" } })).map((m) => m.name)).toEqual(["both.cif [LiMn2O4]", "first/LiCoO2.cif"]);
    // The same content with another ion's hops is not a duplicate: it adds pathways.
    const na = await importItems(db, [{ name: "NaCl.cif", text: cif("NaCl.cif") }], { ion: "Na" });
    const naAgain = await importItems(db, [{ name: "NaCl.cif", text: cif("NaCl.cif") }], { ion: "Na" });
    expect([na.duplicates, naAgain.duplicates]).toEqual([0, 1]);
  });

  it("a re-imported folder's thousands of duplicates do not push the other notices out of the outcome", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const items = [{ name: "NaCl.cif", text: readFileSync(path.join(FIX, "NaCl.cif"), "utf8") }, ...Array.from({ length: 1100 }, (_, i) => ({ name: `copy${i}.cif`, text: cif }))];
    const done = await importItems(db, items, { batchSize: 500 });
    expect(done).toMatchObject({ imported: 1101, duplicates: 1099 });
    expect(done.notices.filter((n) => n.kind === "DUPLICATE")).toHaveLength(1000);
    const again = await importItems(db, [...items.slice(1), { name: "LiTi2PO43.cif", text: readFileSync(path.join(FIX, "LiTi2PO43.cif"), "utf8") }], { ion: "Li", batchSize: 500 });
    expect(again.notices.filter((n) => n.kind === "NO_HOPS").map((n) => n.name)).toEqual(["LiTi2PO43.cif"]);
  });

  it("one bad block of a multi-structure CIF is that block's error; the file's good blocks are stored", async () => {
    const good = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const bad = good.replace("data_LiCoO2", "data_broken").replace(/_cell_length_b\s+\S+/, "_cell_length_b abc");
    const done = await importItems(db, [{ name: "two.cif", text: `${good}\n${bad}` }], { ion: "Li" });
    expect(done).toMatchObject({ status: "DONE", imported: 1, failed: 1 });
    expect(done.errors).toEqual([{ name: "two.cif [broken]", index: 0, reason: expect.stringMatching(/block broken, line \d+: _cell_length_b is "abc", not a number/) }]);
    expect((await db.prisma.material.findMany()).map((m) => m.name)).toEqual(["two.cif [LiCoO2]"]);
    expect(await db.prisma.pathway.count()).toBeGreaterThan(0);
  });

  it("a CIF of 1,100 blocks is imported whole (SQLite takes 999 parameters per query), and again as 1,100 duplicates", async () => {
    const block = (i: number) =>
      [`data_b${i}`, `_cell_length_a ${(4 + i * 0.002).toFixed(4)}`, "_cell_length_b 4.0", "_cell_length_c 4.0", "_cell_angle_alpha 90", "_cell_angle_beta 90", "_cell_angle_gamma 90",
        "loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z", "Na1 Na 0 0 0", "Cl1 Cl 0.5 0.5 0.5", ""].join("\n");
    const text = Array.from({ length: 1100 }, (_, i) => block(i)).join("\n");
    expect(await importItems(db, [{ name: "many.cif", text }])).toMatchObject({ status: "DONE", imported: 1100, duplicates: 0, failed: 0 });
    expect(await db.prisma.material.count()).toBe(1100);
    expect(await importItems(db, [{ name: "many.cif", text }])).toMatchObject({ status: "DONE", imported: 1100, duplicates: 1100, failed: 0 });
    expect(await db.prisma.material.count()).toBe(1100);
  });

  it("two imports of the same content at once both finish: the later writer counts the other's rows as duplicates", async () => {
    const items = train.slice(0, 40).map((entry, i) => ({ name: `t.json#${i}`, entry }));
    const [a, b] = await Promise.all([importItems(db, items, { batchSize: 5 }), importItems(db, items, { batchSize: 5 })]);
    expect([a.status, b.status, a.failed, b.failed]).toEqual(["DONE", "DONE", 0, 0]);
    const materials = await db.prisma.material.count();
    const pathways = await db.prisma.pathway.count();
    expect(pathways).toBe(40);
    const again = await importItems(db, items, { batchSize: 5 });
    expect(again.duplicates).toBe(again.imported);
    expect([await db.prisma.material.count(), await db.prisma.pathway.count()]).toEqual([materials, pathways]);
  });

  it("the same crystal from another file format is a duplicate: one material, its hops not stored twice", async () => {
    const cif = (f: string) => readFileSync(path.join(FIX, f), "utf8");
    await importItems(db, [{ name: "LiCoO2.cif", text: cif("LiCoO2.cif") }], { ion: "Li" });
    const hops = await db.prisma.pathway.count();
    expect(hops).toBeGreaterThan(0);
    const again = await importItems(db, [{ name: "LiCoO2.POSCAR", text: poscarOfCif(cif("LiCoO2.cif")) }, { name: "fixture/LiCoO2.POSCAR", text: cif("LiCoO2.POSCAR") }], { ion: "Li" });
    expect(again).toMatchObject({ status: "DONE", imported: 2, duplicates: 2, failed: 0, pathways: 0 });
    expect(again.notices).toEqual([
      { name: "LiCoO2.POSCAR", index: 0, kind: "DUPLICATE", message: 'already stored as "LiCoO2.cif"; nothing new written' },
      { name: "fixture/LiCoO2.POSCAR", index: 1, kind: "DUPLICATE", message: 'already stored as "LiCoO2.cif"; nothing new written' },
    ]);
    expect([await db.prisma.material.count(), await db.prisma.pathway.count()]).toEqual([1, hops]);
    // Both formats in one batch: the first is stored, the second is its duplicate.
    const both = await importItems(db, [{ name: "LiMn2O4.cif", text: cif("LiMn2O4.cif") }, { name: "LiMn2O4.POSCAR", text: poscarOfCif(cif("LiMn2O4.cif")) }], { ion: "Li" });
    expect(both).toMatchObject({ imported: 2, duplicates: 1 });
    expect(both.notices).toEqual([{ name: "LiMn2O4.POSCAR", index: 1, kind: "DUPLICATE", message: 'already stored as "LiMn2O4.cif"; nothing new written' }]);
    expect((await db.prisma.material.findMany({ orderBy: { name: "asc" } })).map((m) => m.name)).toEqual(["LiCoO2.cif", "LiMn2O4.cif"]);
  });

  it("a crystal stored from one format gains another ion's hops from another format, enumerated on the stored site order", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    await importItems(db, [{ name: "LiCoO2.cif", text: cif }]);
    const added = await importItems(db, [{ name: "LiCoO2.POSCAR", text: poscarOfCif(cif) }], { ion: "Li" });
    expect(added).toMatchObject({ imported: 1, duplicates: 0, failed: 0 });
    expect(added.pathways).toBeGreaterThan(0);
    const [material, ...others] = await db.prisma.material.findMany({ include: { pathways: true } });
    expect(others).toEqual([]);
    expect(material!.name).toBe("LiCoO2.cif");
    expect(material!.pathways).toHaveLength(added.pathways);
    // The hops refer to the stored structure (Li first there, last in the POSCAR): its sites and their positions.
    const sites = (JSON.parse(material!.structure) as StoredStructure).sites;
    for (const p of material!.pathways) {
      const equivalents = JSON.parse(p.equivalents) as { i: number; j: number }[];
      expect(equivalents.length).toBeGreaterThan(0);
      expect(equivalents.every(({ i, j }) => sites[i]?.species === "Li" && sites[j]?.species === "Li")).toBe(true);
      expect(sites.some((site) => site.species === "Li" && site.frac.every((x, a) => x === (JSON.parse(p.initial) as number[])[a]))).toBe(true);
    }
    // So the CIF imported with the ion finds exactly those pathways: nothing new.
    const cifLi = await importItems(db, [{ name: "LiCoO2.cif", text: cif }], { ion: "Li" });
    expect(cifLi).toMatchObject({ duplicates: 1, pathways: 0 });
    expect(await db.prisma.pathway.count()).toBe(added.pathways);
  });

  it("a dataset entry whose host differs from a stored one by float noise is that material, with its labelled hop once", async () => {
    await importItems(db, [{ name: "t.json#0", entry: train[0] }]);
    const atoms = train[0]!.atoms as { coords: number[][] };
    const noisy = { ...train[0]!, atoms: { ...atoms, coords: atoms.coords.map((c) => c.map((x) => x + 1e-9)) } };
    const again = await importItems(db, [{ name: "copy.json#0", entry: noisy }]);
    expect(again).toMatchObject({ imported: 1, duplicates: 1, pathways: 0 });
    // (Both are named by the entry's sys_name.)
    expect(again.notices).toEqual([{ name: "copy.json#0", index: 0, kind: "DUPLICATE", message: "already stored; nothing new written" }]);
    expect([await db.prisma.material.count(), await db.prisma.pathway.count()]).toEqual([1, 1]);
  });

  it("two imports of one set of crystals in two formats at once store each crystal and hop once", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const cifs = Array.from({ length: 8 }, (_, i) => ({ name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
    const poscars = cifs.map((c, i) => ({ name: `s${i}.POSCAR`, text: poscarOfCif(c.text) }));
    const [a, b] = await Promise.all([importItems(db, cifs, { ion: "Li", batchSize: 2 }), importItems(db, poscars, { ion: "Li", batchSize: 2 })]);
    expect([a.status, b.status, a.imported, b.imported, a.failed, b.failed]).toEqual(["DONE", "DONE", 8, 8, 0, 0]);
    expect(a.duplicates + b.duplicates).toBe(8);
    expect(await db.prisma.material.count()).toBe(8);
    expect(a.pathways + b.pathways).toBe(await db.prisma.pathway.count());
    // Whichever format was stored, the hops are those of the stored structures: importing either again adds nothing.
    for (const items of [cifs, poscars]) expect(await importItems(db, items, { ion: "Li" })).toMatchObject({ duplicates: 8, pathways: 0 });
  });

  it("gives the event loop a turn after every item, so a server stays responsive during a large import", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    // A macrotask that re-queues itself counts the event-loop turns; each item records the count when it is read.
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: number[] = [];
    function* items() {
      for (let i = 0; i < 40; i++) {
        seen.push(turns);
        yield { name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 1e-3).toFixed(4)}`) };
      }
    }
    const done = await importItems(db, items(), { ion: "Li", batchSize: 1000 });
    running = false;
    expect(done).toMatchObject({ imported: 40, failed: 0 });
    // Between reading one item and the next, other work got at least one turn.
    expect(seen.slice(1).every((t, i) => t > seen[i]!)).toBe(true);
  });

  it("a failure part-way keeps whole batches only, and resuming finishes the job exactly", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const items = Array.from({ length: 250 }, (_, i) => ({ name: `s${i}.cif`, text: i % 25 === 24 ? "data_x\n" : cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
    async function* dying() {
      for (const [i, it] of items.entries()) {
        if (i === 160) throw new Error("killed");
        yield it;
      }
    }
    let jobId = "";
    await expect(importItems(db, dying(), { batchSize: 50, onStart: (id) => (jobId = id), source: "/data/run1" })).rejects.toThrow("killed");
    const mid = await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(mid).toMatchObject({ status: "FAILED", processed: 150, imported: 144, failed: 6 });
    expect(await db.prisma.material.count()).toBe(144);
    // Resumed from another path, its first 150 items would be skipped unread: refused, nothing written.
    await expect(importItems(db, items, { batchSize: 50, resumeJob: jobId, source: "/data/run2" })).rejects.toThrowError(/imported \/data\/run1, not \/data\/run2: resume it with that path/);
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "FAILED", processed: 150 });
    const done = await importItems(db, items, { batchSize: 50, resumeJob: jobId, source: "/data/run1" });
    expect(done).toMatchObject({ id: jobId, status: "DONE", processed: 250, imported: 240, duplicates: 0, failed: 10 });
    expect(done.errors.map((e) => e.index)).toEqual([24, 49, 74, 99, 124, 149, 174, 199, 224, 249]);
    expect(await db.prisma.material.count()).toBe(240);
    expect(await db.prisma.importItemError.count({ where: { jobId } })).toBe(10);
  });

  it("resuming an import killed between a batch's commit and its onPathways (prediction) hands that batch over", async () => {
    const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
    const items = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
    let jobId = "";
    const handed = new Set<string>();
    // The first batch is committed, then the process dies while predicting it.
    const dying = async () => {
      throw new Error("killed");
    };
    await expect(importItems(db, items, { ion: "Li", batchSize: 3, onStart: (id) => (jobId = id), onPathways: dying })).rejects.toThrow("killed");
    const firstBatch = (await db.prisma.pathway.findMany({ select: { id: true } })).map((p) => p.id);
    expect(firstBatch.length).toBeGreaterThan(0);
    const done = await importItems(db, items, { ion: "Li", batchSize: 3, resumeJob: jobId, onPathways: async (ids) => void ids.forEach((id) => handed.add(id)) });
    expect(done).toMatchObject({ status: "DONE", processed: 6, imported: 6, duplicates: 0, failed: 0 });
    // Every stored pathway reached onPathways: the first batch's on resume, the rest as they were committed.
    const all = (await db.prisma.pathway.findMany({ select: { id: true } })).map((p) => p.id);
    expect(firstBatch.every((id) => handed.has(id))).toBe(true);
    expect([...handed].sort()).toEqual(all.sort());
  });

  it("stored pathways rebuild the path structures the model reads: enumerated hops and dataset entries", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "train.json"), JSON.stringify(train.slice(0, 3)));
    writeFileSync(path.join(dir, "LiFePO4.cif"), readFileSync(path.join(FIX, "LiFePO4.cif")));
    const r = await importPath(db, dir, { ion: "Li" });
    expect(r.failed).toBe(0);
    const lfp = readCif(readFileSync(path.join(FIX, "LiFePO4.cif"), "utf8"))[0]!;
    const hop = enumerateHops(lfp, "Li").hops[0]!;
    const stored = await db.prisma.pathway.findFirstOrThrow({ where: { material: { reducedFormula: "LiFePO4" } }, orderBy: { hopLength: "asc" }, include: { material: true } });
    const rebuilt = pathStructureOf(stored.material, stored);
    const direct = hopPathway(lfp, hop).toPathStructure();
    expect(rebuilt.structure.length).toBe(direct.structure.length);
    expect(Array.from(rebuilt.isImage)).toEqual(Array.from(direct.isImage));
    const entry = await db.prisma.pathway.findFirstOrThrow({ where: { material: { name: train[0]!.sys_name } }, include: { material: true } });
    expect(entry.emDft).toBe(train[0]!.target);
    const original = Pathway.fromImageStructure(readJsonStructures(train[0] as never)[0]!).toPathStructure();
    const again = pathStructureOf(entry.material, entry);
    expect(again.structure.length).toBe(original.structure.length);
    again.structure.sites.forEach((s, i) => {
      expect(s.element).toBe(original.structure.sites[i]!.element);
      s.frac.forEach((x, a) => expect(x).toBeCloseTo(original.structure.sites[i]!.frac[a]!, 9));
    });
  });

  it("credits the published dataset only for its own entries; other labels are stored with the entry's citation and functional, or not at all", async () => {
    const own = { ...train[1]!, sys_name: "my-calc", target: 0.7, citation: "doi:10.1000/my-neb", functional: "r2SCAN" };
    const untraced = { ...train[3]!, sys_name: "no-source", target: 0.9 };
    const items = [
      { name: "upload.json#0", entry: train[0] },
      { name: "upload.json#1", entry: own },
      { name: "upload.json#2", entry: { ...train[2]!, sys_name: "too-high", target: 500 } },
      { name: "upload.json#3", entry: { ...train[2]!, sys_name: "negative", target: -3 } },
      { name: "upload.json#4", entry: untraced },
    ];
    const done = await importItems(db, items);
    expect(done).toMatchObject({ imported: 3, failed: 2 });
    expect(done.errors.map((e) => [e.index, e.reason])).toEqual([
      [2, expect.stringMatching(/target: must be a barrier in eV, 0 … 20 \(got 500\)/)],
      [3, expect.stringMatching(/got -3/)],
    ]);
    const published = await db.prisma.pathway.findFirstOrThrow({ where: { material: { name: train[0]!.sys_name } }, include: { material: true } });
    expect(published.emDftSource).toMatch(/doi:10\.1038\/s41524-026-01972-8.*; GGA(\+U)? NEB$/);
    expect(published.material.citation).toMatch(/doi:10\.1038/);
    const mine = await db.prisma.pathway.findFirstOrThrow({ where: { material: { name: "my-calc" } }, include: { material: true } });
    expect(mine.emDft).toBe(0.7);
    expect(mine.emDftSource).toBe("doi:10.1000/my-neb; r2SCAN");
    expect(mine.material).toMatchObject({ citation: "doi:10.1000/my-neb", functional: "r2SCAN" });
    // A barrier nobody can trace is not stored as a DFT label; the pathway is, and the notice says why.
    const bare = await db.prisma.pathway.findFirstOrThrow({ where: { material: { name: "no-source" } } });
    expect(bare).toMatchObject({ emDft: null, emDftSource: null });
    expect(done.notices).toEqual([{ name: "upload.json#4", index: 4, kind: "UNLABELLED", message: expect.stringMatching(/^its barrier 0\.9 eV was not stored as a DFT label: give the entry "citation" \(DOI\) and "functional"/) }]);
  });

  it("the ion filter means the same with and without a ranking: the element is there, or the ion hops through", async () => {
    // train[19] (O-MnPO4_Li) moves one Li through a host with no Li left in it; train[0] is Li4P2S7.
    await importItems(db, [{ name: "a.json#0", entry: train[0] }, { name: "a.json#19", entry: train[19] }, { name: "NaCl.cif", text: readFileSync(path.join(FIX, "NaCl.cif"), "utf8") }]);
    const names = async (filter: object) => (await searchMaterials(db, { filter })).items.map((h) => h.material.name).sort();
    expect(await names({ ion: "Li" })).toEqual([train[19]!.sys_name, train[0]!.sys_name].sort());
    expect(await names({ ion: "Li", elementsNone: ["Li"] })).toEqual([train[19]!.sys_name]);
    expect(await names({ ion: "Na" })).toEqual(["NaCl.cif"]);
    await expect(searchMaterials(db, { filter: { ion: "Xx" } })).rejects.toThrowError(/"Xx" is not an element symbol/);
  });

  it("concurrent predict jobs store one prediction per pathway and model, with its warnings; predicting again replaces it", async () => {
    const dir = tempDir();
    for (const f of ["LiFePO4.cif", "LiCoO2.cif"]) writeFileSync(path.join(dir, f), readFileSync(path.join(FIX, f)));
    await importPath(db, dir, { ion: "Li" });
    const pathways = await db.prisma.pathway.count();
    expect(pathways).toBeGreaterThan(4);
    const stub = (em: number) => async (xs: unknown[]) => {
      await new Promise((r) => setTimeout(r, 20)); // both jobs have read "not predicted yet" before either writes
      return xs.map(() => ({ emPredicted: em, emStd: 0.05, pGood: 0.5, model: "stub@1", warnings: ["path passes 0.8 Å from a host atom"] }));
    };
    const jobs = await Promise.all([0, 1, 2].map(() => predictPathways(db, stub(0.4) as never, "stub@1", { chunk: 3 })));
    expect(jobs.map((j) => j.failed)).toEqual([[], [], []]);
    const rows = await db.prisma.prediction.findMany();
    expect(rows).toHaveLength(pathways);
    expect(new Set(rows.map((r) => r.pathwayId)).size).toBe(pathways);
    expect(rows.every((r) => r.emPredicted === 0.4 && JSON.parse(r.warnings)[0] === "path passes 0.8 Å from a host atom")).toBe(true);

    const again = await predictPathways(db, stub(0.6) as never, "stub@1", { skipPredicted: false });
    expect(again.predicted).toBe(pathways);
    const replaced = await db.prisma.prediction.findMany();
    expect(replaced).toHaveLength(pathways);
    expect(replaced.every((r) => r.emPredicted === 0.6)).toBe(true);
    const ranking = await db.prisma.materialRanking.findFirstOrThrow({ where: { model: "stub@1" } });
    expect(ranking.lowestEm).toBe(0.6);
  });

  it("rankings: the lowest barrier at which the ion's network percolates, and sorting by it", async () => {
    const dir = tempDir();
    for (const f of ["LiFePO4.cif", "LiCoO2.cif", "LiMn2O4.cif"]) writeFileSync(path.join(dir, f), readFileSync(path.join(FIX, f)));
    await importPath(db, dir, { ion: "Li" });
    // A stand-in predictor: Em grows with hop length (0.1 eV per Å), so the answer is known.
    const predict = async (xs: { structure: { lattice: { toCartesian(f: readonly number[]): number[] }; sites: { frac: readonly number[] }[] } }[]) =>
      xs.map((x) => {
        const d = x.structure.sites[4]!.frac.map((v, a) => v - x.structure.sites[0]!.frac[a]!);
        const len = Math.hypot(...x.structure.lattice.toCartesian(d));
        return { emPredicted: 0.1 * len, emStd: 0.05, pGood: 0.5, model: "stub@1" };
      });
    const out = await predictPathways(db, predict as never, "stub@1");
    expect(out.failed).toEqual([]);
    expect(out.predicted).toBe(await db.prisma.pathway.count());
    const rows = await db.prisma.materialRanking.findMany({ include: { material: true } });
    const lfp = rows.find((r) => r.material.reducedFormula === "LiFePO4")!;
    const hops = await db.prisma.pathway.findMany({ where: { materialId: lfp.materialId }, orderBy: { hopLength: "asc" } });
    // Olivine: the shortest Li hop (≈ 3.0 Å) chains along b, so it percolates in 1D by itself.
    expect(lfp.percolationDim).toBe(1);
    expect(lfp.percolationEm).toBeCloseTo(0.1 * hops[0]!.hopLength, 3);
    expect(await refreshRankings(db, [lfp.materialId], "stub@1")).toBe(1);
    const ranked = await searchMaterials(db, { filter: { ion: "Li", model: "stub@1" }, sort: "EM" });
    const ems = ranked.items.map((h) => h.ranking!.rankEm);
    expect(ems).toEqual([...ems].sort((a, b) => a - b));
    expect(ranked.items).toHaveLength(3);

    // Cursors only page the list and sort they came from; a forged or foreign one is the client's error.
    const page1 = await searchMaterials(db, { filter: { ion: "Li", model: "stub@1" }, sort: "EM", first: 1 });
    const page2 = await searchMaterials(db, { filter: { ion: "Li", model: "stub@1" }, sort: "EM", first: 5, after: page1.pageInfo.endCursor });
    expect(page2.items.map((h) => h.material.id)).toEqual(ranked.items.slice(1).map((h) => h.material.id));
    // Positions go on across pages (the dashboard numbers ranks with them).
    expect([...page1.items, ...page2.items].map((h) => h.position)).toEqual([1, 2, 3]);
    // A cursor carried over to another filter or model would skip that list's rows before its sort key: refused.
    const lp = await listPathways(db, { filter: { ion: "Li" }, first: 1 });
    expect(lp.items[0]!.position).toBe(1);
    const pathwayCursor = (await listPathways(db, { first: 1 })).pageInfo.endCursor!;
    const dateCursor = (await searchMaterials(db, { first: 1 })).pageInfo.endCursor!;
    const forged = (c: object) => Buffer.from(JSON.stringify(c)).toString("base64url");
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => searchMaterials(db, { first: 1, after: pathwayCursor }), /belongs to the pathways list, not materials/],
      [() => listPathways(db, { first: 1, after: dateCursor }), /belongs to the materials list, not pathways/],
      [() => searchMaterials(db, { first: 1, after: forged({ l: "materials", s: "DATE", k: "abc", id: "x" }) }), /sort key is malformed/],
      [() => searchMaterials(db, { filter: { ion: "Li", model: "stub@1" }, sort: "EM", after: forged({ l: "materials", s: "EM", k: "abc", id: "x" }) }), /sort key is malformed/],
      [() => searchMaterials(db, { first: 1, after: dateCursor.slice(0, 10) }), /not a cursor returned by this list/],
      [() => searchMaterials(db, { filter: { ion: "Li", model: "stub@1", goodOnly: true }, sort: "EM", after: page1.pageInfo.endCursor }), /belongs to another filter \(or model\)/],
      [() => searchMaterials(db, { filter: { ion: "Li", model: "stub@1", elementsNone: ["Fe"] }, sort: "EM", after: page1.pageInfo.endCursor }), /belongs to another filter/],
      [() => listPathways(db, { filter: { ion: "Na" }, first: 1, after: lp.pageInfo.endCursor }), /belongs to another filter/],
      [() => searchMaterials(db, { first: 1, after: forged({ l: "materials", s: "DATE", k: new Date().toISOString(), id: "x" }) }), /from an older version of IonRank/],
      [() => searchMaterials(db, { first: 1, after: forged({ l: "materials", s: "DATE", k: new Date().toISOString(), id: "x", f: JSON.parse(Buffer.from(dateCursor, "base64url").toString()).f, n: 0 }) }), /position is malformed/],
    ];
    for (const [call, message] of cases) {
      await expect(call()).rejects.toThrowError(message);
      await expect(call()).rejects.toBeInstanceOf(ValidationError);
    }
    // The same filter in another form (goodOnly: false and an empty text filter nothing, as absent does) keeps its cursors.
    const equivalent = await searchMaterials(db, { filter: { ion: "Li", model: "stub@1", goodOnly: false, structureClass: "", hasDft: null }, sort: "EM", first: 5, after: page1.pageInfo.endCursor });
    expect(equivalent.items.map((h) => [h.material.id, h.position])).toEqual(page2.items.map((h) => [h.material.id, h.position]));
    const lp2 = await listPathways(db, { filter: { ion: "Li", materialId: "" }, first: 1, after: lp.pageInfo.endCursor });
    expect(lp2.items.map((i) => i.position)).toEqual([2]);
  });
});
