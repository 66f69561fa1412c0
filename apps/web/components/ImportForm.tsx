"use client";
import Link from "next/link";
import { useRef, useState } from "react";

interface ImportResult {
  id: string;
  status: string;
  processed: number;
  imported: number;
  duplicates: number;
  failed: number;
  errors: { name: string; index: number; reason: string }[];
  notices: { name: string; index: number; message: string }[];
}
interface FileOutcome {
  name: string;
  ok: boolean;
  detail: string;
  /** Stored, but with something to know (e.g. no hops of the ion were found). */
  notes?: string[];
}

const IONS = ["Li", "Na", "K", "Mg", "Ca", "Zn", "Al"];
const PER_REQUEST = 4; // files per request: the progress bar moves as each group is stored

export function ImportForm() {
  const [files, setFiles] = useState<File[]>([]);
  const [ion, setIon] = useState("Li");
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(0);
  const [outcomes, setOutcomes] = useState<FileOutcome[]>([]);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const add = (list: FileList | null) => {
    if (list) setFiles((f) => [...f, ...Array.from(list)]);
  };

  async function run() {
    setBusy(true);
    setDone(0);
    setOutcomes([]);
    setError(null);
    try {
      for (let i = 0; i < files.length; i += PER_REQUEST) {
        const group = files.slice(i, i + PER_REQUEST);
        const structures = await Promise.all(group.map(async (f) => ({ name: f.name, content: await f.text() })));
        const res = await fetch("/api/import", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ structures, ion }) });
        const body = (await res.json()) as ImportResult & { error?: string };
        if (!res.ok || body.error) throw new Error(body.error ?? `HTTP ${res.status}`);
        const failedNames = new Map(body.errors.map((e) => [e.name.replace(/#\d+$/, ""), e.reason]));
        const notices = new Map<string, string[]>();
        for (const n of body.notices) notices.set(n.name.replace(/#\d+$/, ""), [...(notices.get(n.name.replace(/#\d+$/, "")) ?? []), n.message]);
        setOutcomes((o) => [
          ...o,
          ...group.map((f) => (failedNames.has(f.name) ? { name: f.name, ok: false, detail: failedNames.get(f.name)! } : { name: f.name, ok: true, detail: `stored (job ${body.id})`, notes: notices.get(f.name) ?? [] })),
        ]);
        setDone(i + group.length);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
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
      <p style={{ display: "flex", gap: 12, alignItems: "center" }}>
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
      {error ? <p className="error" role="alert">Import failed: {error}</p> : null}
      {outcomes.length > 0 ? (
        <section aria-live="polite">
          <h2>Imported ({ok.length})</h2>
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
