"use client";
import { useEffect, useRef, useState } from "react";

type V3 = [number, number, number];
export interface ViewerProps {
  /** Lattice vectors as rows, Å. */
  lattice: number[][];
  sites: { species: string; frac: number[] }[];
  /** Migration paths: fractional image positions, highlighted. */
  paths: { label: string; images: number[][] }[];
  /** How many paths the material has, when `paths` is only some of them. */
  totalPaths?: number;
}

const COLORS: Record<string, string> = { Li: "#7d4cdb", Na: "#e0a100", K: "#8f40d4", Mg: "#2e9d3a", Ca: "#3d9970", O: "#e2231a", S: "#d4c400", P: "#ff8000", F: "#61c25f", Cl: "#1fd01f", Fe: "#e06633", Co: "#f090a0", Mn: "#9c7ac7", Ni: "#50d050", Ti: "#8f8f99", V: "#a6a6ab", Zr: "#94e0e0", La: "#70d4ff", Cu: "#c88033", Zn: "#7d80b0", Al: "#bfa6a6", Si: "#f0c8a0", Se: "#ffa100" };
const cart = (l: number[][], f: number[]): V3 => [0, 1, 2].map((k) => f[0]! * l[0]![k]! + f[1]! * l[1]![k]! + f[2]! * l[2]![k]!) as V3;

/** 3D view of the unit cell (3Dmol.js, WebGL) with the migration path images highlighted; a 2D projection where WebGL is unavailable. */
export function StructureViewer({ lattice, sites, paths, totalPaths = paths.length }: ViewerProps) {
  const host = useRef<HTMLDivElement>(null);
  const [mode, setMode] = useState<"loading" | "3d" | "2d">("loading");
  useEffect(() => {
    let cancelled = false;
    const el = host.current!;
    (async () => {
      try {
        const $3Dmol = await import("3dmol");
        if (cancelled) return;
        const viewer = $3Dmol.createViewer(el, { backgroundColor: "white" });
        if (!viewer) throw new Error("no WebGL");
        // The sites as one model (one mesh per style), not a shape per site: 1,536 sites as shapes froze the page for
        // seconds and every drag frame took about a second.
        const xyz = `${sites.length}\n\n${sites.map((s) => `${s.species} ${cart(lattice, s.frac).join(" ")}`).join("\n")}\n`;
        viewer.addModel(xyz, "xyz", { keepH: true, noComputeSecondaryStructure: true });
        viewer.setStyle({}, { sphere: { radius: 0.35, color: "#888" } });
        for (const species of new Set(sites.map((s) => s.species)))
          viewer.setStyle({ elem: species }, { sphere: { radius: ["O", "S", "F", "Cl", "Se"].includes(species) ? 0.45 : 0.35, color: COLORS[species] ?? "#888" } });
        // The 12 cell edges: from each corner with a 0 coordinate, one step along that axis.
        const corners = [0, 1].flatMap((a) => [0, 1].flatMap((b) => [0, 1].map((c) => [a, b, c])));
        for (const p of corners)
          for (let axis = 0; axis < 3; axis++) {
            if (p[axis] !== 0) continue;
            const q = p.map((v, i) => (i === axis ? 1 : v));
            const [a, b] = [cart(lattice, p), cart(lattice, q)];
            viewer.addCylinder({ start: { x: a[0], y: a[1], z: a[2] }, end: { x: b[0], y: b[1], z: b[2] }, radius: 0.03, color: "#888" });
          }
        for (const path of paths) {
          const pts = path.images.map((f) => cart(lattice, f));
          pts.forEach(([x, y, z]) => viewer.addSphere({ center: { x, y, z }, radius: 0.22, color: "#00b3ff" }));
          for (let i = 1; i < pts.length; i++) {
            const [a, b] = [pts[i - 1]!, pts[i]!];
            viewer.addCylinder({ start: { x: a[0], y: a[1], z: a[2] }, end: { x: b[0], y: b[1], z: b[2] }, radius: 0.08, color: "#00b3ff" });
          }
        }
        viewer.zoomTo();
        viewer.render();
        setMode("3d");
      } catch {
        if (!cancelled) draw2d(el, lattice, sites, paths);
        if (!cancelled) setMode("2d");
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [lattice, sites, paths]);
  return (
    <figure style={{ margin: 0 }}>
      <div ref={host} className="viewer" data-testid="structure-viewer" data-mode={mode} role="img" aria-label={`Unit cell with ${sites.length} sites and ${paths.length} highlighted migration path(s)${totalPaths > paths.length ? ` of ${totalPaths}` : ""}`} />
      <figcaption className="legend">
        <span data-testid="viewer-paths"><i style={{ background: "#00b3ff" }} />{totalPaths > paths.length ? `path images of the ${paths.length} lowest-barrier hops (of ${totalPaths})` : "path images"}</span>
        {[...new Set(sites.map((s) => s.species))].map((el) => (
          <span key={el}><i style={{ background: COLORS[el] ?? "#888" }} />{el}</span>
        ))}
        {mode === "2d" ? <span>(2D projection: WebGL unavailable)</span> : mode === "3d" ? <span>drag to rotate, scroll to zoom</span> : null}
      </figcaption>
    </figure>
  );
}

function draw2d(el: HTMLElement, lattice: number[][], sites: ViewerProps["sites"], paths: ViewerProps["paths"]) {
  const canvas = document.createElement("canvas");
  canvas.width = el.clientWidth || 600;
  canvas.height = el.clientHeight || 420;
  el.replaceChildren(canvas);
  const ctx = canvas.getContext("2d")!;
  // An oblique projection (x right, y up-right, z up) fitted to the cell.
  const proj = (p: V3): [number, number] => [p[0] + 0.45 * p[1], -(p[2] + 0.3 * p[1])];
  const all = [...sites.map((s) => cart(lattice, s.frac)), ...[0, 1].flatMap((a) => [0, 1].flatMap((b) => [0, 1].map((c) => cart(lattice, [a, b, c]))))].map(proj);
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const s = Math.min((canvas.width - 40) / (x1 - x0 || 1), (canvas.height - 40) / (y1 - y0 || 1));
  const at = (p: V3) => {
    const [x, y] = proj(p);
    return [20 + (x - x0) * s, 20 + (y - y0) * s] as const;
  };
  for (const site of sites) {
    const [x, y] = at(cart(lattice, site.frac));
    ctx.fillStyle = COLORS[site.species] ?? "#888";
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.strokeStyle = "#00b3ff";
  ctx.lineWidth = 3;
  for (const path of paths) {
    ctx.beginPath();
    path.images.forEach((f, i) => {
      const [x, y] = at(cart(lattice, f));
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}
