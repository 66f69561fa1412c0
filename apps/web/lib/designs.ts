// The model card's "designs compared on the same folds", as rows a reader can understand without the
// training logs: each variant's name is a lab shorthand (S-h128, P-pre-noise10), so the row also says what
// the design was, from the fields the card records. Cards come from users' own training runs, so every
// field is optional here.

export type Metrics = { n: number; mae: number; rmse: number; r2: number; accuracy: number; precision: number; recall: number };

export interface Variant {
  metrics: Metrics;
  change?: string;
  epochs?: number;
  seconds?: number;
  model?: { hidden?: number; alignn_layers?: number; gcn_layers?: number; readout?: string; target?: string; dropout?: number };
  hyperparameters?: { position_noise?: number; batch_size?: number; lr?: number; trunk_lr_factor?: number };
  freeze?: number;
  pretrained?: boolean;
  featurizer?: string;
  device?: string;
}

export interface DesignRow {
  name: string;
  /** What the design was: size, crop, pre-training, schedule, and the card's own note on the change. */
  design: string;
  metrics: Metrics;
  /** Where it was trained ("CPU, 1 thread(s)", "NVIDIA H200"), without the run's notes. */
  device: string | null;
  shipped: boolean;
}

const num = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

export function describeVariant(v: Partial<Variant>): string {
  const parts: string[] = [];
  const m = v.model ?? {};
  if (num(m.hidden)) parts.push(`hidden ${m.hidden}`);
  if (num(m.alignn_layers) && num(m.gcn_layers)) parts.push(`${m.alignn_layers}+${m.gcn_layers} layers`);
  if (typeof v.featurizer === "string") {
    const crop = /-crop(\d+(?:\.\d+)?)(?:-|$)/.exec(v.featurizer);
    parts.push(crop ? `crop ${crop[1]} Å` : "whole path structure");
  }
  if (m.readout === "mean") parts.push("mean readout");
  if (m.target && m.target !== "identity") parts.push(`loss on ${m.target}(Em)`);
  if (num(m.dropout) && m.dropout > 0) parts.push(`dropout ${m.dropout}`);
  if (typeof v.pretrained === "boolean") parts.push(v.pretrained ? "pre-trained" : "from scratch");
  if (num(v.freeze) && v.freeze > 0) parts.push(`first ${v.freeze} layers frozen`);
  const hp = v.hyperparameters ?? {};
  if (num(hp.position_noise) && hp.position_noise > 0) parts.push(`jitter ${hp.position_noise} Å`);
  if (num(v.epochs)) parts.push(`${v.epochs} epochs`);
  const facts = parts.join(", ");
  const change = typeof v.change === "string" && v.change.trim() ? v.change.trim() : "";
  return change && facts ? `${facts} — ${change}` : change || facts || "—";
}

/** The card's variants plus the shipped network (and its from-scratch twin), best cross-validated MAE first. */
export function designRows(
  cv: { pretrained?: Partial<Variant> & { metrics: Metrics }; scratch?: (Partial<Variant> & { metrics: Metrics }) | null; variants?: Record<string, Partial<Variant> & { metrics: Metrics }> },
  tag: string,
  shipped: Partial<Variant>,
): DesignRow[] {
  const device = (d: unknown) => (typeof d === "string" && d.trim() ? d.split(" (")[0]!.trim() : null);
  const rows: DesignRow[] = [];
  if (cv.pretrained?.metrics) {
    rows.push({ name: tag, design: describeVariant({ ...shipped, ...cv.pretrained }), metrics: cv.pretrained.metrics, device: device(cv.pretrained.device), shipped: true });
  }
  if (cv.scratch?.metrics) {
    rows.push({ name: `${tag}, from scratch`, design: describeVariant({ ...shipped, ...cv.scratch, pretrained: false }), metrics: cv.scratch.metrics, device: device(cv.scratch.device), shipped: false });
  }
  for (const [name, v] of Object.entries(cv.variants ?? {})) {
    if (v && num(v.metrics?.mae)) rows.push({ name, design: describeVariant(v), metrics: v.metrics, device: device(v.device), shipped: false });
  }
  return rows.sort((a, b) => a.metrics.mae - b.metrics.mae);
}
