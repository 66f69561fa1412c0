import { ELEMENT_PROPERTIES, type ElementProperties } from "./elements-table.js";

/** One segment of the element encoding: a name and how many one-hot slots it has. */
interface Segment {
  name: string;
  size: number;
  /** Slot for an element, or -1 when the property is unknown (the segment stays all zero). */
  slot(e: ElementProperties): number;
}

/** Equal-width bins over [lo, hi]; values outside fall in the end bins. */
function bins(lo: number, hi: number, n: number, value: (e: ElementProperties) => number | null): (e: ElementProperties) => number {
  return (e) => {
    const v = value(e);
    if (v === null || !Number.isFinite(v)) return -1;
    return Math.min(n - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * n)));
  };
}

const KJ_PER_MOL_PER_EV = 96.485332;

/**
 * The CGCNN-style element encoding (Xie & Grossman, PRL 120, 145301 (2018), Table S2), computed here from
 * ELEMENT_PROPERTIES rather than copied: the same properties and ranges, with period 1–7 and an explicit
 * "electronegativity unknown" slot (noble gases), 92 slots in all.
 */
export const ENCODING_SEGMENTS: readonly Segment[] = [
  { name: "group 1–18", size: 18, slot: (e) => e.group - 1 },
  { name: "period 1–7", size: 7, slot: (e) => e.period - 1 },
  {
    name: "Pauling electronegativity 0.5–4.0 (10 bins) + unknown",
    size: 11,
    slot: (e) => (e.electronegativity === null ? 10 : bins(0.5, 4.0, 10, (x) => x.electronegativity)(e)),
  },
  { name: "covalent radius 0.25–2.5 Å (10 bins)", size: 10, slot: bins(0.25, 2.5, 10, (e) => e.covalentRadius) },
  { name: "valence electrons 1–12", size: 12, slot: (e) => Math.min(12, Math.max(1, e.valenceElectrons)) - 1 },
  {
    name: "first ionisation energy, log10(kJ/mol) 1.3–3.3 (10 bins)",
    size: 10,
    slot: bins(1.3, 3.3, 10, (e) => (e.firstIonizationEnergy === null ? null : Math.log10(e.firstIonizationEnergy * KJ_PER_MOL_PER_EV))),
  },
  { name: "electron affinity −3–3.7 eV (10 bins)", size: 10, slot: bins(-3, 3.7, 10, (e) => e.electronAffinity) },
  { name: "block s, p, d, f", size: 4, slot: (e) => "spdf".indexOf(e.block) },
  {
    name: "atomic volume, ln(cm³/mol) 1.5–4.3 (10 bins)",
    size: 10,
    slot: bins(1.5, 4.3, 10, (e) => (e.atomicVolume === null ? null : Math.log(e.atomicVolume))),
  },
];

/** Length of one element's encoding (92). */
export const ELEMENT_FEATURE_LENGTH = ENCODING_SEGMENTS.reduce((n, s) => n + s.size, 0);

/** Highest atomic number the encoding covers (Lr, 103). */
export const MAX_ATOMIC_NUMBER = ELEMENT_PROPERTIES.length;

/**
 * The encoding of every element as one float32 table, row Z−1 for element Z (103 × 92).
 * Models embed atoms by looking up this table, so it travels with every featurized dataset.
 */
export const ELEMENT_FEATURES: Float32Array = (() => {
  const t = new Float32Array(MAX_ATOMIC_NUMBER * ELEMENT_FEATURE_LENGTH);
  ELEMENT_PROPERTIES.forEach((e, z) => {
    let base = z * ELEMENT_FEATURE_LENGTH;
    for (const seg of ENCODING_SEGMENTS) {
      const k = seg.slot(e);
      if (k >= 0) t[base + k] = 1;
      base += seg.size;
    }
  });
  return t;
})();

/** The 92-length encoding of element Z. */
export function elementFeatures(z: number): Float32Array {
  return ELEMENT_FEATURES.subarray((z - 1) * ELEMENT_FEATURE_LENGTH, z * ELEMENT_FEATURE_LENGTH);
}
