"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";

interface ImportResult {
  id: string;
  status: string;
  processed: number;
  imported: number;
  duplicates: number;
  failed: number;
  errors: { name: string; index: number; reason: string }[];
  notices: { name: string; index: number; kind: string; message: string }[];
}
interface FileOutcome {
  name: string;
  ok: boolean;
  detail: string;
  /** Stored, but with something to know (e.g. no hops of the ion were found). */
  notes?: string[];
  /** Everything in it was already stored: nothing new was written. */
  duplicate?: boolean;
}

const IONS = ["Li", "Na", "K", "Mg", "Ca", "Zn", "Al"];
const PER_REQUEST = 4; // files per request: the progress bar moves as each group is stored
const MAX_GROUP_BYTES = 8 * 2 ** 20;
/** The API refuses request bodies over 32 MiB (IONRANK_MAX_BODY_BYTES); JSON escaping adds a little. */
const MAX_FILE_BYTES = 30 * 2 ** 20;

export function ImportForm() {
  const [files, setFiles] = useState<File[]>([]);
  const [ion, setIon] = useState("Li");
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(0);
  const [outcomes, setOutcomes] = useState<FileOutcome[]>([]);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  // When an import ends, focus moves to its outcome: the button it was on is disabled while it runs, which left
  // keyboard and screen-reader users on <body> with nothing said.
  const results = useRef<HTMLHeadingElement>(null);
  const [finished, setFinished] = useState(0);
  useEffect(() => {
    if (finished) results.current?.focus();
  }, [finished]);

  const add = (list: FileList | null) => {
    if (list) setFiles((f) => [...f, ...Array.from(list)]);
  };

  async function run() {
    setBusy(true);
    setDone(0);
    setOutcomes([]);
    setError(null);
    // Every file gets a name of its own in this import, so two "x.cif" from different folders keep their outcomes apart.
    const seen = new Map<string, number>();
    const named = files.map((f) => {
      const k = (seen.get(f.name) ?? 0) + 1;
      seen.set(f.name, k);
      return { file: f, name: k === 1 ? f.name : `${f.name} (${k})` };
    });
    // Groups of at most PER_REQUEST files and MAX_GROUP_BYTES, so the bar moves and one big file travels alone;
    // a file over the API's request limit is refused here, by name, and the others still go.
    const groups: (typeof named)[] = [];
    for (const n of named) {
      if (n.file.size > MAX_FILE_BYTES) {
        setOutcomes((o) => [...o, { name: n.name, ok: false, detail: `${(n.file.size / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_FILE_BYTES / 2 ** 20} MiB one import request may carry: import it with \`npx ionrank import\`` }]);
        continue;
      }
      const last = groups.at(-1);
      if (last && last.length < PER_REQUEST && last.reduce((a, x) => a + x.file.size, 0) + n.file.size <= MAX_GROUP_BYTES) last.push(n);
      else groups.push([n]);
    }
    let sent = files.length - groups.reduce((a, g) => a + g.length, 0);
    setDone(sent);
    // An item's name is its file's, with " [block]" (a CIF block) or "#i" (a JSON list entry) after it.
    const fileOf = (item: string) => item.replace(/ \[[^\]]*\]$/, "").replace(/#\d+$/, "");
    for (const group of groups) {
      try {
        const structures = await Promise.all(group.map(async (n) => ({ name: n.name, content: await n.file.text() })));
        const res = await fetch("/api/import", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ structures, ion }) });
        const body = (await res.json()) as ImportResult & { error?: string };
        if (!res.ok || body.error) throw new Error(body.error ?? `HTTP ${res.status}`);
        setOutcomes((o) => [
          ...o,
          ...group.map((n): FileOutcome => {
            const whole = body.errors.find((e) => e.name === n.name);
            // The API's reason may start with the file's name, which the list already shows ("empty.cif: empty.cif: …").
            if (whole) return { name: n.name, ok: false, detail: whole.reason.startsWith(`${n.name}: `) ? whole.reason.slice(n.name.length + 2) : whole.reason };
            // Parts of a file (blocks, list entries) that failed, and notices on what was stored.
            const parts = body.errors.filter((e) => fileOf(e.name) === n.name).map((e) => `failed: ${e.name.slice(n.name.length).trim()} — ${e.reason}`);
            const mine = body.notices.filter((x) => fileOf(x.name) === n.name);
            const notes = mine.map((x) => x.message);
            // A block's duplicate notice names the block ("f.cif [b]: already stored …"); the whole file's does not.
            const duplicate = mine.some((x) => x.kind === "DUPLICATE" && x.message.startsWith("already stored"));
            return { name: n.name, ok: true, detail: `stored (job ${body.id})`, notes: [...parts, ...notes], duplicate };
          }),
        ]);
      } catch (e) {
        // This group failed as a whole (e.g. the API was unreachable): say so for its files, go on with the rest.
        setOutcomes((o) => [...o, ...group.map((n) => ({ name: n.name, ok: false, detail: (e as Error).message }))]);
        setError((e as Error).message);
      }
      sent += group.length;
      setDone(sent);
    }
    setBusy(false);
    setFinished((n) => n + 1);
  }

  const ok = outcomes.filter((o) => o.ok);
  const bad = outcomes.filter((o) => !o.ok);
  return (
    <div>
      <div
        className={`drop${over ? " over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          add(e.dataTransfer.files);
        }}
      >
        <p>Drop structure files here, or</p>
        <label className="button secondary">
          choose files…
          <input ref={input} data-testid="file-input" className="visually-hidden" type="file" multiple onChange={(e) => add(e.target.files)} />
        </label>
        {files.length > 0 ? <p>{files.length} file(s): {files.map((f) => f.name).join(", ")}</p> : null}
      </div>
      <p style={{ display: "flex", flexWrap: "wrap", gap: 12, alignItems: "center" }}>
        <label>
          Mobile ion{" "}
          <select value={ion} onChange={(e) => setIon(e.target.value)}>
            {IONS.map((i) => (
              <option key={i}>{i}</option>
            ))}
            <option value="">none (structures only)</option>
          </select>
        </label>
        <button onClick={run} disabled={busy || files.length === 0}>
          Import {files.length || ""} file(s)
        </button>
        <button className="secondary" onClick={() => { setFiles([]); setOutcomes([]); setDone(0); if (input.current) input.current.value = ""; }} disabled={busy}>
          Clear
        </button>
      </p>
      {busy || done > 0 ? (
        <p>
          <progress aria-label="Import progress" value={done} max={files.length || 1} /> {done} / {files.length}
        </p>
      ) : null}
      {error ? <p className="error" role="alert">Some files could not be sent: {error}</p> : null}
      {outcomes.length > 0 ? (
        <section aria-live="polite">
          <h2 ref={results} tabIndex={-1} data-testid="import-results">
            Imported ({ok.length})
          </h2>
          {ok.some((o) => o.duplicate) ? (
            <p data-testid="already-stored">{ok.filter((o) => o.duplicate).length} of them were already stored: nothing new was written for those.</p>
          ) : null}
          <ul data-testid="imported">
            {ok.map((o) => (
              <li key={o.name}>
                {o.name}
                {o.notes?.length ? <span className="warnings"> — {o.notes.join("; ")}</span> : null}
              </li>
            ))}
          </ul>
          <h2>Failed ({bad.length})</h2>
          {bad.length ? (
            <ul data-testid="failed">
              {bad.map((o) => (
                <li key={o.name}>
                  <b>{o.name}</b>: {o.detail}
                </li>
              ))}
            </ul>
          ) : (
            <p>None.</p>
          )}
          {!busy && ok.length ? <p><Link href={`/?ion=${ion || "Li"}`}>See the ranking »</Link></p> : null}
        </section>
      ) : null}
    </div>
  );
}
