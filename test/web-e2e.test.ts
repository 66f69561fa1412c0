import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, ionrank, ROOT, SHARED } from "./helpers.js";

// The whole platform as a user starts it (README: npm start), driven by Debian's Chromium.
const ARTIFACTS = join(ROOT, "test/artifacts");
const dir = mkdtempSync(join(tmpdir(), "ionrank-web-"));
const API_PORT = 4000 + (process.pid % 500) + 17;
const WEB_PORT = 3000 + (process.pid % 500) + 17;
const BASE = `http://127.0.0.1:${WEB_PORT}`;
let platform: ChildProcess;
let context: BrowserContext;
let page: Page;

async function shot(name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  platform = spawn("bash", [join(ROOT, "scripts/start.sh")], {
    cwd: ROOT,
    env: { ...withoutDatabaseUrl(), IONRANK_DATA_DIR: join(dir, "data"), IONRANK_API_PORT: String(API_PORT), IONRANK_WEB_PORT: String(WEB_PORT) },
    detached: true,
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const on = (d: Buffer) => {
      log += d.toString();
      if (/dashboard at http/.test(log) && /Ready in/.test(log)) resolve();
    };
    platform.stdout!.on("data", on);
    platform.stderr!.on("data", on);
    platform.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${log}`)));
  });
  context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 600_000);

afterAll(async () => {
  await context?.close();
  try {
    if (platform?.pid) process.kill(-platform.pid, "SIGTERM");
  } catch {
    // already gone
  }
});

/** The platform's embedded default: the SQLite file, whatever this shell points DATABASE_URL at. */
function withoutDatabaseUrl(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _, ...env } = process.env;
  return env;
}

// Pages stream behind a loading state and React reveals them a moment after "load": wait until rows are
// visible before reading them (hidden streamed rows are in the DOM already).
async function shown(p: Page = page) {
  await p.getByTestId("ranking-row").first().waitFor({ state: "visible" });
}
const ems = async () => {
  await shown();
  return (await page.getByTestId("rank-em").allTextContents()).map(Number);
};

describe("the dashboard (npm start, real browser)", () => {
  it("ranks the example data and filters it, with the view in the URL", async () => {
    await page.goto(`${BASE}/`);
    await page.getByTestId("ranking-row").first().waitFor();
    await expect.poll(() => page.getByTestId("ranking-row").count()).toBeGreaterThanOrEqual(8);
    const all = await ems();
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(all.some((e) => e >= 0.65)).toBe(true);
    await shot("ranking");

    await page.getByLabel(/Good conductors only/).check();
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/goodOnly=1/);
    const good = await ems();
    expect(good.length).toBeGreaterThan(0);
    expect(good.length).toBeLessThan(all.length);
    expect(good.every((e) => e < 0.65)).toBe(true);

    await page.getByLabel("Contains all of (elements)").fill("Fe, P");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/with=Fe%2C\+?P/);
    await shown();
    const rows = await page.getByTestId("ranking-row").allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.includes("Fe") && r.includes("P"))).toBe(true);
    await shot("ranking-filtered");

    // The same URL in a fresh tab shows the same view; the CSV export follows it.
    const shared = page.url();
    const other = await context.newPage();
    await other.goto(shared);
    await shown(other);
    expect(await other.getByTestId("ranking-row").count()).toBe(rows.length);
    const csv = await (await other.request.get(`${BASE}/ranking.csv?${new URL(shared).search.slice(1)}`)).text();
    expect(csv.trim().split("\n")).toHaveLength(rows.length + 1);
    expect(csv.trim().split("\n").slice(1).map((l) => Number(l.split(",")[0]))).toEqual(rows.map((_, i) => i + 1));
    await other.close();

    await page.goto(`${BASE}/?ion=Na&sort=EM`);
    await shown();
    const na = await page.getByTestId("ranking-row").allTextContents();
    expect(na.length).toBeGreaterThan(0);
    expect(na.join(" ")).toContain("NaCoO2");

    // Element symbols in any case; a bad filter is a 400 with the reason for the CSV, not an empty 500.
    await page.goto(`${BASE}/?ion=li&with=fe`);
    await shown();
    expect((await page.getByTestId("ranking-row").allTextContents()).every((r) => r.includes("Fe"))).toBe(true);
    expect(await page.getByLabel("Contains all of (elements)").inputValue()).toBe("Fe");
    const badCsv = await page.request.get(`${BASE}/ranking.csv?ion=Xx`);
    expect(badCsv.status()).toBe(400);
    expect(await badCsv.text()).toMatch(/could not export the ranking: .*Xx/);
    // Later pages go on numbering the ranks.
    await page.goto(`${BASE}/?ion=Li&first=3`);
    await shown();
    await page.getByRole("link", { name: "Next page »" }).click();
    await page.waitForURL(/after=/);
    await shown();
    expect((await page.getByTestId("ranking-row").first().locator("td").first().textContent())?.trim()).toBe("4");
    // The numbers are the API's positions, not something the URL can set (an old link's from=999 changes nothing).
    await page.goto(`${page.url()}&from=999`);
    await shown();
    expect((await page.getByTestId("ranking-row").first().locator("td").first().textContent())?.trim()).toBe("4");
    // Forwards two pages and back again: the API pages forwards only, so the way back travels in the URL.
    const firstCell = async () => (await page.getByTestId("ranking-row").first().locator("td").first().textContent())?.trim();
    await page.getByRole("link", { name: "Next page »" }).click();
    await page.waitForURL((u) => u.searchParams.getAll("back").length === 2);
    await shown();
    expect(await firstCell()).toBe("7");
    await page.getByRole("link", { name: "‹ Previous page" }).click();
    await page.waitForURL((u) => u.searchParams.getAll("back").length === 1);
    await shown();
    expect(await firstCell()).toBe("4");
    await page.getByRole("link", { name: "‹ Previous page" }).click();
    await page.waitForURL((u) => !u.searchParams.has("after") && !u.searchParams.has("back"));
    await shown();
    expect(await firstCell()).toBe("1");
    expect(await page.getByRole("link", { name: "‹ Previous page" }).count()).toBe(0);
    await page.goto(`${BASE}/?ion=Li&emMin=0.5&emMax=0.2`);
    await page.getByText(/the Em range's minimum 0\.5 eV is above its maximum 0\.2 eV/).waitFor();
    // Only that message: the API (which refuses such a range) is not asked, and the form keeps its models.
    // (Next's route announcer is an empty alert of its own.)
    expect((await page.getByRole("alert").allTextContents()).filter(Boolean)).toEqual([expect.stringMatching(/^the Em range's minimum/)]);
    expect(await page.locator('select[name="model"] option').count()).toBeGreaterThan(1);
    // A parameter that is not a valid value is named, on the page and for the CSV, instead of silently showing
    // (and exporting) the default view: first=abc was 25 rows, sort=bogus the Em ranking, hasDft=maybe any.
    for (const [param, reason] of [
      ["first=abc", /first: "abc" is not a page size/],
      ["first=0", /first: "0" is not a page size/],
      ["sort=bogus", /sort: "bogus" is not one of EM, PGOOD, FORMULA, DATE/],
      ["hasDft=maybe", /hasDft: "maybe" is not one of yes, no/],
      ["emMin=abc", /emMin: "abc" is not a barrier in eV/],
      ["goodOnly=yes", /goodOnly: "yes" is not one of 0, 1/],
    ] as const) {
      await page.goto(`${BASE}/?ion=Li&${param}`);
      await page.getByText(reason).waitFor();
      expect(await page.getByTestId("ranking-row").count()).toBe(0);
      const refused = await page.request.get(`${BASE}/ranking.csv?ion=Li&${param}`);
      expect(refused.status()).toBe(400);
      expect(await refused.text()).toMatch(reason);
    }
    // A view the API refuses keeps its form's models, and the form shows the value it was refused for.
    await page.goto(`${BASE}/?ion=Li&model=unknown@1`);
    await page.getByText(/no model "unknown@1" here/).waitFor();
    expect(await page.locator('select[name="model"]').inputValue()).toBe("unknown@1");
    expect(await page.locator('select[name="model"] option', { hasText: /\(active\)/ }).count()).toBe(1);
    // The caption says how the list is sorted (it said "Ranked by the lowest barrier" whatever the sort).
    await page.goto(`${BASE}/?ion=Li&sort=formula`);
    await shown();
    expect(await page.getByTestId("ranking-caption").textContent()).toMatch(/^Sorted by formula; predictions by em@\d/);
    expect(await page.locator('select[name="sort"]').inputValue()).toBe("FORMULA");
  });

  it("opens a material: facts, its hops with predictions and the 3D viewer with the paths", async () => {
    await page.goto(`${BASE}/?ion=Li`);
    await page.getByRole("link", { name: "LiFePO4", exact: true }).waitFor();
    await page.getByRole("link", { name: "LiFePO4", exact: true }).click();
    await page.waitForURL(/\/materials\//);
    await page.getByTestId("hop-row").first().waitFor({ state: "visible" });
    await expect.poll(() => page.getByTestId("hop-row").count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByText("62", { exact: true }).count()).toBeGreaterThan(0); // space group Pnma
    const viewer = page.getByTestId("structure-viewer");
    await expect.poll(() => viewer.getAttribute("data-mode"), { timeout: 20_000 }).not.toBe("loading");
    expect(await viewer.locator("canvas").count()).toBeGreaterThanOrEqual(1);
    const box = await viewer.locator("canvas").first().boundingBox();
    expect(box!.width).toBeGreaterThan(200);
    expect(await page.getByText("percolates").count()).toBeGreaterThanOrEqual(1);
    await shot("material");

    // Without ?ion, a sodium material shows (and ranks) its Na hops, not an empty Li ranking.
    await page.goto(`${BASE}/?ion=Na`);
    const href = await page.getByRole("link", { name: "NaCoO2", exact: true }).first().getAttribute("href");
    await page.goto(`${BASE}${href!.replace(/\?.*$/, "")}`);
    await page.getByTestId("hop-row").first().waitFor({ state: "visible" });
    expect(await page.getByRole("heading", { name: "Ranking for Na" }).count()).toBe(1);
    expect(await page.getByText("Percolating barrier").count()).toBe(1);
  });

  it("imports a good and a bad file, with progress and a per-file outcome", async () => {
    const licoo2 = readFileSync(join(FIXTURES, "LiCoO2.cif"), "utf8");
    await page.goto(`${BASE}/import`);
    await page.getByTestId("file-input").setInputFiles([
      { name: "LiCoO2-copy.cif", mimeType: "chemical/x-cif", buffer: readFileSync(join(FIXTURES, "LiCoO2.cif")) },
      { name: "broken.cif", mimeType: "chemical/x-cif", buffer: Buffer.from("data_broken\n_cell_length_a 5\n") },
      { name: "LiTi2PO43.cif", mimeType: "chemical/x-cif", buffer: readFileSync(join(FIXTURES, "LiTi2PO43.cif")) },
      // Same name as the broken one (another folder): each keeps its own outcome.
      { name: "broken.cif", mimeType: "chemical/x-cif", buffer: readFileSync(join(FIXTURES, "NaCl.cif")) },
      // Two blocks, one of them bad: the good one is stored and the bad one named.
      { name: "two.cif", mimeType: "chemical/x-cif", buffer: Buffer.from(`${licoo2.replace("data_LiCoO2", "data_shifted").replace(/_cell_length_a\s+\S+/, "_cell_length_a 2.8200")}\n${licoo2.replace("data_LiCoO2", "data_bad").replace(/_cell_length_b\s+\S+/, "_cell_length_b abc")}`) },
    ]);
    await page.getByRole("button", { name: /Import 5 file/ }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Failed (1)" }).count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByTestId("imported").textContent()).toContain("LiCoO2-copy.cif");
    expect(await page.getByTestId("failed").textContent()).toMatch(/broken\.cif.*no data block has atom sites/);
    // NASICON: stored, and the outcome says why it has no Li hops (its Li sites are 6 Å apart).
    await expect.poll(() => page.getByRole("progressbar").getAttribute("value"), { timeout: 60_000 }).toBe("5");
    const imported = await page.getByTestId("imported").locator("li").allTextContents();
    expect(imported.find((t) => t.startsWith("LiTi2PO43.cif"))).toMatch(/no Li hops up to 5 Å between its Li sites: the nearest two are \d\.\d\d Å apart/);
    expect(imported.some((t) => t.startsWith("broken.cif (2)"))).toBe(true);
    expect(imported.find((t) => t.startsWith("two.cif"))).toMatch(/failed: \[bad\] — .*_cell_length_b is "abc", not a number/);
    // The example data holds these two already: each file says so, and the list says how many.
    expect(imported.find((t) => t.startsWith("LiCoO2-copy.cif"))).toMatch(/already stored as ".*LiCoO2\.cif"; nothing new written/);
    expect(imported.find((t) => t.startsWith("LiTi2PO43.cif"))).toMatch(/already stored; nothing new written/); // under the same name
    expect(await page.getByTestId("already-stored").textContent()).toBe("2 of them were already stored: nothing new was written for those.");
    expect(await page.getByTestId("failed").locator("li").allTextContents()).toEqual([expect.stringMatching(/^broken\.cif: .*no data block has atom sites/)]);
    await shot("import");
    // A malformed request to the import route is the client's fault (400 naming the entry), not the API's (502).
    const malformed = await page.request.post(`${BASE}/api/import`, { data: { structures: [{ name: "a.cif" }], ion: "Li" } });
    expect(malformed.status()).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toBe("file 1: needs a name and its content as text");
    const nullBody = await page.request.post(`${BASE}/api/import`, { headers: { "content-type": "application/json" }, data: "null" });
    expect(nullBody.status()).toBe(400); // was a TypeError's 500
  });

  it("names a zero-byte and a non-structure file once each, and moves focus to the outcome", async () => {
    await page.goto(`${BASE}/import`);
    await page.getByTestId("file-input").setInputFiles([
      { name: "empty.cif", mimeType: "chemical/x-cif", buffer: Buffer.alloc(0) },
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("measured on 3 May\n") },
    ]);
    await page.getByRole("button", { name: /Import 2 file/ }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Failed (2)" }).count(), { timeout: 60_000 }).toBe(1);
    // Each reason once after its file's name: it read "empty.cif: empty.cif: …" (the API's reason names the file too).
    const failed = await page.getByTestId("failed").locator("li").allTextContents();
    expect(failed).toEqual([expect.stringMatching(/^empty\.cif: \S/), expect.stringMatching(/^notes\.txt: cannot tell the format/)]);
    expect(failed.filter((t) => /^(\S+): \1:/.test(t))).toEqual([]);
    // Focus moves to the outcome when the import ends: it was left on <body> (the button it was on is disabled while it runs).
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("import-results");
  });

  it("shows the model's applicability warning beside a hop's prediction", async () => {
    // e-VOPO4_Na_1 from the Em dataset: its straight path passes 0.59 Å from a host atom, where the model's
    // held-out error is largest; the warning is stored with the prediction and shown on the material's page.
    const entry = (JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as { sys_name: string }[]).find((e) => e.sys_name === "e-VOPO4_Na_1");
    await page.goto(`${BASE}/import`);
    await page.getByTestId("file-input").setInputFiles([{ name: "e-VOPO4_Na_1.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify([entry])) }]);
    await page.getByRole("button", { name: /Import 1 file/ }).click();
    await expect.poll(() => page.getByTestId("imported").textContent(), { timeout: 60_000 }).toContain("e-VOPO4_Na_1.json");
    const res = await fetch(`http://127.0.0.1:${API_PORT}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ pathways(filter: { ion: "Na", hasDft: true }, first: 500) { edges { node { material { id name } } } } }` }),
    });
    const edges = ((await res.json()) as { data: { pathways: { edges: { node: { material: { id: string; name: string } } }[] } } }).data.pathways.edges;
    const id = edges.find((e) => e.node.material.name === "e-VOPO4_Na_1")!.node.material.id;
    await page.goto(`${BASE}/materials/${id}?ion=Na`);
    await page.getByTestId("hop-row").first().waitFor({ state: "visible" });
    expect(await page.getByTestId("hop-warnings").first().textContent()).toMatch(/^the straight path passes 0\.59 Å from a host atom: in cross-validation the \d+ training hops closer than 1 Å were predicted with MAE/);
  });

  it("answers a material that does not exist with HTTP 404 and the not-found page", async () => {
    // The page must not start streaming before it knows the material exists, or the status is already 200.
    const res = await page.goto(`${BASE}/materials/no-such-material?ion=Li`);
    expect(res?.status()).toBe(404);
    expect(await page.getByText("Not found.").count()).toBe(1);
  });

  it("shows the active model's card as charts", async () => {
    await page.goto(`${BASE}/model`);
    await page.getByRole("heading", { name: /Active model: em@/ }).waitFor({ state: "visible" });
    expect(await page.getByTestId("parity-plot").locator("circle").count()).toBe(559);
    expect(await page.getByTestId("em-histogram").locator("rect").count()).toBeGreaterThan(10);
    expect(await page.getByTestId("bars").count()).toBe(2);
    expect(await page.getByText("same network from scratch").count()).toBe(1);
    // The members are trained on every entry; the cross-validation measures their recipe, run with 3 seeds, and the
    // spread's calibration is checked on folds it was not fitted on.
    expect(await page.getByText(/^The members are trained on all 559 labelled pathways; .* run with 3 seeds\.$/).count()).toBe(1);
    expect(await page.getByRole("columnheader", { name: "mean of 3 seeds" }).count()).toBe(1);
    expect(await page.getByTestId("calibration-check").textContent()).toMatch(/^Checked out of sample \(scale fitted on 4 folds, tested on the fifth\): \d+\.\d % within ±1σ, \d+\.\d % within ±2σ\.$/);
    // The trunk the members started from ships beside them, named with its hash and how to fine-tune from it.
    expect(await page.getByTestId("trunk").textContent()).toMatch(/^The trunk ships with the model as em\.trunk\.pt \(SHA-256 [0-9a-f]{12}…\): ionrank train --trunk models\/em\.trunk\.pt reruns/);
    // Each design says what it was, not only its lab shorthand; the shipped model sits among them by its MAE.
    const designs = page.getByTestId("design-row");
    const card = JSON.parse(readFileSync(join(ROOT, "models/em.card.json"), "utf8")) as { version: string; cv: { variants: object } };
    expect(await designs.count()).toBe(Object.keys(card.cv.variants).length + 2);
    const shipped = designs.filter({ hasText: "shipped" });
    expect(await shipped.count()).toBe(1);
    expect(await shipped.locator("td").first().textContent()).toContain(`em@${card.version}`);
    expect(await shipped.locator("td.design").textContent()).toMatch(/^hidden 64, 2\+2 layers, crop 3\.5 Å, pre-trained, jitter 0\.05 Å, 60 epochs/);
    expect(await designs.filter({ hasText: "S-h128-batch16" }).locator("td.design").textContent()).toMatch(/^hidden 128, 3\+3 layers/);
    for (const text of await designs.locator("td.design").allTextContents()) expect(text.trim()).not.toBe("—");
    const maes = (await designs.locator("td:nth-child(3)").allTextContents()).map(Number);
    expect(maes).toEqual([...maes].sort((a, b) => a - b));
    await shot("model");
  });

  it("is keyboard accessible: skip link and focusable controls", async () => {
    await page.goto(`${BASE}/`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("A");
  });

  it("names each page in its <title>", async () => {
    // Every page was "IonRank — screening ionic conductors": tabs, history and screen readers could not tell them apart.
    await page.goto(`${BASE}/?ion=Na&sort=FORMULA`);
    expect(await page.title()).toBe("Na conductors ranked by formula — IonRank");
    await page.goto(`${BASE}/?ion=Li`);
    await shown();
    const href = await page.getByRole("link", { name: "LiFePO4", exact: true }).getAttribute("href");
    await page.goto(`${BASE}${href}`);
    expect(await page.title()).toBe("LiFePO4: Li hops and predicted barriers — IonRank");
    await page.goto(`${BASE}/import`);
    expect(await page.title()).toBe("Import structures — IonRank");
    await page.goto(`${BASE}/model`);
    expect(await page.title()).toBe("Model card — IonRank");
    await page.goto(`${BASE}/materials/no-such-material`);
    expect(await page.title()).toBe("Not found — IonRank");
  });

  it("tells apart materials of one formula, on the page and in the CSV, whatever their names", async () => {
    // A strained LiCoO2 under a long file name that a spreadsheet would read as a formula.
    const name = `=1+2 strained ${"LiCoO2_".repeat(20)}.POSCAR`;
    const poscar = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8").replace(/^(.*\n)1\.0\n/, (_, title: string) => `${title}1.0123\n`);
    const res = await page.request.post(`${BASE}/api/import`, { data: { structures: [{ name, content: poscar }], ion: "Li" } });
    expect(res.status(), await res.text()).toBe(200);
    // The ranking showed only "LiCoO2" for every copy: a file's name was hidden when it ended in .poscar, .cif, ….
    await page.goto(`${BASE}/?ion=Li&with=Co&without=Fe,Mn,B&sort=DATE`);
    await shown();
    const first = page.getByTestId("ranking-row").first();
    expect(await first.locator(".material-name").textContent()).toBe(name);
    // The CSV names each row too, defused for spreadsheets.
    const csv = (await (await page.request.get(`${BASE}/ranking.csv?ion=Li&with=Co&without=Fe,Mn,B&sort=DATE`)).text()).trim().split("\n");
    expect(csv[0]).toMatch(/^rank,id,name,formula,/);
    expect(csv[1]).toContain(`,'${name},LiCoO2,`);
    // A repeated parameter is read as the page reads it (the first): ?ion=Li&ion=Na exported the Na ranking.
    const page1 = await (await page.request.get(`${BASE}/ranking.csv?ion=Li&ion=Na&with=Co&without=Fe,Mn,B&sort=DATE`)).text();
    expect(page1.trim().split("\n")).toEqual(csv);
    // Its page: the long name wraps instead of widening the page (2,094 px at a 1,280 px window).
    await first.getByRole("link").click();
    await page.waitForURL(/\/materials\//);
    await page.getByTestId("hop-row").first().waitFor({ state: "visible" });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const w = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
      expect(w.page, `${w.page} px wide on a ${w.screen} px screen`).toBeLessThanOrEqual(w.screen);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("keeps the view: the page size when a filter is applied, filters and page on the way back from a material", async () => {
    await page.goto(`${BASE}/?ion=Li&first=3`);
    await shown();
    await page.getByLabel(/Good conductors only/).check();
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/goodOnly=1/);
    await shown();
    expect(new URL(page.url()).searchParams.get("first")).toBe("3"); // the form dropped it: 25 rows again
    expect(await page.getByTestId("ranking-row").count()).toBe(3);
    // Page 2 of this view, a material, and "« Ranking": the same page 2 (it went to /?ion=Li, page 1 unfiltered).
    await page.getByRole("link", { name: "Next page »" }).click();
    await page.waitForURL(/after=/);
    await shown();
    const view = new URL(page.url()).searchParams;
    await page.getByTestId("ranking-row").first().getByRole("link").click();
    await page.waitForURL(/\/materials\//);
    await page.getByRole("link", { name: "« Ranking" }).click();
    await page.waitForURL((u) => u.pathname === "/");
    await shown();
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual(Object.fromEntries(view));
    expect((await page.getByTestId("ranking-row").first().locator("td").first().textContent())?.trim()).toBe("4");
  });

  it("highlights only the lowest-barrier hops of a cell with many, and says so", async () => {
    // A slightly distorted 2×2×1 LiCoO2 cell: no symmetry left, 99 distinct Li hops. All were drawn, hiding the
    // structure under a tangle of paths and freezing the page (thousands of 3D shapes).
    const src = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8").trim().split("\n");
    const counts = src[6]!.trim().split(/\s+/).map(Number);
    const sites = src.slice(8, 8 + counts.reduce((a, b) => a + b)).map((l) => l.trim().split(/\s+/).map(Number));
    const lattice = [2, 3, 4].map((i, k) => src[i]!.trim().split(/\s+/).map((v) => Number(v) * (k < 2 ? 2 : 1)).join(" "));
    const frac: string[] = [];
    for (const f of sites)
      for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
        const j = frac.length + 1;
        frac.push([(f[0]! + a) / 2, (f[1]! + b) / 2, f[2]!].map((v, k) => (v + 0.004 * Math.sin(7.3 * j + 2.1 * k)).toFixed(10)).join(" "));
      }
    const poscar = ["LiCoO2 2x2x1 distorted", "1.0", ...lattice, src[5], counts.map((c) => c * 4).join(" "), "Direct", ...frac].join("\n");
    const res = await page.request.post(`${BASE}/api/import`, { data: { structures: [{ name: "LiCoO2-221-distorted.POSCAR", content: poscar }], ion: "Li" } });
    expect(res.status(), await res.text()).toBe(200);
    await page.goto(`${BASE}/?ion=Li&with=Co&without=Fe,Mn,B&sort=DATE&first=1`);
    await shown();
    await page.getByTestId("ranking-row").first().getByRole("link").click();
    await page.waitForURL(/\/materials\//);
    await page.getByTestId("hop-row").first().waitFor({ state: "visible" });
    const hops = await page.getByTestId("hop-row").count();
    expect(hops).toBeGreaterThan(24);
    const viewer = page.getByTestId("structure-viewer");
    await expect.poll(() => viewer.getAttribute("data-mode"), { timeout: 20_000 }).toBe("3d");
    expect(await viewer.getAttribute("aria-label")).toBe(`Unit cell with 48 sites and 24 highlighted migration path(s) of ${hops}`);
    expect(await page.getByTestId("viewer-paths").textContent()).toBe(`path images of the 24 lowest-barrier hops (of ${hops})`);
  });

  it("fits a phone's width: wide tables scroll in their box, the page itself never scrolls sideways", async () => {
    const phone = await context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${BASE}/?ion=Li`);
      await shown(phone);
      const material = await phone.getByRole("link", { name: "LiFePO4", exact: true }).getAttribute("href");
      for (const path of ["/?ion=Li", material!, "/model", "/import"]) {
        await phone.goto(`${BASE}${path}`);
        await phone.locator("main").waitFor({ state: "visible" });
        if (path !== "/import") await phone.locator("table").first().waitFor({ state: "visible" });
        const width = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
        expect(width.page, `${path} is ${width.page} px wide on a ${width.screen} px screen`).toBeLessThanOrEqual(width.screen);
      }
      // The ranking's columns are all still there, reachable by scrolling the table's own box.
      await phone.goto(`${BASE}/?ion=Li`);
      await shown(phone);
      const box = await phone.locator(".table-scroll").first().evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(box.scroll).toBeGreaterThan(box.client);
    } finally {
      await phone.close();
    }
  });
});

// An API started without a model (IONRANK_MODEL=none) over structures imported without predictions, with its own
// dashboard: the pages must say that nothing is predicted, not that the filters match nothing.
describe("the dashboard over an API with no model", () => {
  const data = join(dir, "no-model");
  const api = `http://127.0.0.1:${API_PORT + 1}/graphql`;
  const web = `http://127.0.0.1:${WEB_PORT + 1}`;
  const servers: ChildProcess[] = [];
  const env = { ...withoutDatabaseUrl(), IONRANK_DATA_DIR: data, IONRANK_MODEL: "none", IONRANK_API_PORT: String(API_PORT + 1) };

  beforeAll(async () => {
    // LiFePO4 with its Li hops (unpredicted), NaCl with no Li at all.
    for (const f of ["LiFePO4.cif", "NaCl.cif"]) expect(ionrank(["import", join(FIXTURES, f), "--ion", "Li", "--quiet"], env).code).toBe(0);
    const key = ionrank(["apikey", "create", "--role", "editor"], env).stdout.trim().split("\n").at(-1)!;
    const start = (args: string[], cwd: string, extra: NodeJS.ProcessEnv, ready: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn("node", args, { cwd, env: { ...env, ...extra }, detached: true });
        servers.push(p);
        let log = "";
        const on = (d: Buffer) => {
          log += d.toString();
          if (ready.test(log)) resolve();
        };
        p.stdout!.on("data", on);
        p.stderr!.on("data", on);
        p.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}:\n${log}`)));
      });
    await start([join(ROOT, "apps/api/dist/main.js")], ROOT, {}, /GraphQL API at http/);
    await start([join(ROOT, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(WEB_PORT + 1)], join(ROOT, "apps/web"), { IONRANK_API_URL: api, IONRANK_WEB_API_KEY: key, IONRANK_API_TIMEOUT_MS: "2000" }, /Ready in/);
  }, 120_000);

  afterAll(() => {
    for (const p of servers) {
      try {
        if (p.pid) process.kill(-p.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  });

  it("says nothing is ranked without a model, and lists the materials sorted by formula", async () => {
    await page.goto(`${web}/?ion=Li`);
    await page.getByText(/^Nothing is ranked: the API has no active model/).waitFor();
    await page.goto(`${web}/?ion=Li&sort=FORMULA`);
    await shown();
    expect(await page.getByTestId("ranking-caption").textContent()).toBe("Sorted by formula; no model is active, so no barriers are predicted.");
    expect(await page.getByTestId("rank-em").allTextContents()).toEqual(["—"]);
    await page.goto(`${web}/model`);
    await page.getByText("No model is active.", { exact: false }).waitFor();
  });

  it("imports with an ion although nothing can be predicted: the structures and hops are stored, each file says why", async () => {
    const res = await page.request.post(`${web}/api/import`, { data: { structures: [{ name: "LiCoO2.cif", content: readFileSync(join(FIXTURES, "LiCoO2.cif"), "utf8") }], ion: "Li" } });
    expect(res.status(), await res.text()).toBe(200);
    const job = (await res.json()) as { status: string; imported: number; notices: { name: string; kind: string; message: string }[] };
    expect(job).toMatchObject({ status: "DONE", imported: 1 });
    expect(job.notices).toContainEqual({ name: "LiCoO2.cif", index: 0, kind: "UNPREDICTED", message: expect.stringMatching(/^not predicted: no model is loaded/) });
    const q = await fetch(api, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: '{ pathways(filter: { ion: "Li" }, first: 500) { edges { node { material { reducedFormula } } } } }' }) });
    const formulas = ((await q.json()) as { data: { pathways: { edges: { node: { material: { reducedFormula: string } } }[] } } }).data.pathways.edges.map((e) => e.node.material.reducedFormula);
    expect(formulas).toContain("LiCoO2");
  });

  it("shows a material's own mobile ion, and says when it has none of the ion asked for", async () => {
    const res = await fetch(api, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ materials { edges { node { id reducedFormula } } } }" }) });
    const ids = Object.fromEntries(((await res.json()) as { data: { materials: { edges: { node: { id: string; reducedFormula: string } }[] } } }).data.materials.edges.map((e) => [e.node.reducedFormula, e.node.id]));
    // NaCl, no hops at all: its page is about Na, not Li (which it does not contain).
    await page.goto(`${web}/materials/${ids.NaCl}`);
    expect(await page.getByRole("heading", { name: "Ranking for Na" }).count()).toBe(1);
    await page.goto(`${web}/materials/${ids.LiFePO4}?ion=Na`);
    expect(await page.getByText("This material has no Na sites.").count()).toBe(1);
    expect(await page.getByText(/No Na predictions for this material yet/).count()).toBe(0);
  });

  it("says so when the API does not answer, instead of loading for ever", async () => {
    // The API is up but stuck (stopped): every page used to wait on it with no end, the material page blank.
    const res = await fetch(api, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ materials { edges { node { id } } } }" }) });
    const id = ((await res.json()) as { data: { materials: { edges: { node: { id: string } }[] } } }).data.materials.edges[0]!.node.id;
    process.kill(servers[0]!.pid!, "SIGSTOP");
    try {
      for (const [path, what] of [["/?ion=Li&sort=FORMULA", "the ranking"], [`/materials/${id}`, "this material"], ["/model", "the model"]]) {
        await page.goto(`${web}${path}`, { timeout: 20_000 });
        await page.getByText(`Could not load ${what}: the IonRank API at ${api} did not answer within 2 s`).waitFor({ timeout: 20_000 });
      }
      const csv = await page.request.get(`${web}/ranking.csv?ion=Li&sort=FORMULA`, { timeout: 20_000 });
      expect(csv.status()).toBe(502);
      expect(await csv.text()).toMatch(/did not answer within 2 s/);
    } finally {
      process.kill(servers[0]!.pid!, "SIGCONT");
    }
  });
});
