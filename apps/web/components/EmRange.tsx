"use client";
import { useState } from "react";

/** Two sliders for the Em range (eV); the values go into the URL with the rest of the form. */
export function EmRange({ min, max }: { min: number | null; max: number | null }) {
  const [lo, setLo] = useState(min ?? 0);
  const [hi, setHi] = useState(max ?? 3);
  return (
    <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
      <legend style={{ fontSize: 13, color: "var(--muted)" }}>
        Em range: {lo.toFixed(2)} – {hi >= 3 ? "any" : hi.toFixed(2)} eV
      </legend>
      <input aria-label="Em at least (eV)" type="range" min={0} max={3} step={0.05} value={lo} onChange={(e) => setLo(Math.min(Number(e.target.value), hi))} />
      <input aria-label="Em at most (eV)" type="range" min={0} max={3} step={0.05} value={hi} onChange={(e) => setHi(Math.max(Number(e.target.value), lo))} />
      {lo > 0 ? <input type="hidden" name="emMin" value={lo} /> : null}
      {hi < 3 ? <input type="hidden" name="emMax" value={hi} /> : null}
    </fieldset>
  );
}
