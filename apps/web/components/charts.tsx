// Small SVG charts (no chart library: nothing to download, works offline, prints well).

const W = 420;
const H = 300;
const M = { l: 48, r: 12, t: 12, b: 40 };

function ticks(lo: number, hi: number, n = 5): number[] {
  const step = (hi - lo) / n;
  return Array.from({ length: n + 1 }, (_, i) => lo + i * step);
}

/** Held-out predictions against DFT, with the y = x line. */
/** Horizontal grid lines with their labels on the y axis, from 0 to `top`. */
function YGrid({ top, sy, format }: { top: number; sy: (v: number) => number; format: (t: number) => string }) {
  return ticks(0, top, 4).map((t) => (
    <g key={t}>
      <line className="grid" x1={M.l} x2={W - M.r} y1={sy(t)} y2={sy(t)} />
      <text x={M.l - 6} y={sy(t) + 4} textAnchor="end">{format(t)}</text>
    </g>
  ));
}

export function ParityPlot({ x, y, label }: { x: number[]; y: number[]; label: string }) {
  const hi = Math.ceil(Math.max(...x, ...y, 1));
  const lo = Math.min(0, Math.floor(Math.min(...x, ...y)));
  const sx = (v: number) => M.l + ((v - lo) / (hi - lo)) * (W - M.l - M.r);
  const sy = (v: number) => H - M.b - ((v - lo) / (hi - lo)) * (H - M.t - M.b);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="parity-plot">
      {ticks(lo, hi).map((t) => (
        <g key={t}>
          <line className="grid" x1={sx(t)} x2={sx(t)} y1={M.t} y2={H - M.b} />
          <line className="grid" x1={M.l} x2={W - M.r} y1={sy(t)} y2={sy(t)} />
          <text x={sx(t)} y={H - M.b + 14} textAnchor="middle">{t.toFixed(1)}</text>
          <text x={M.l - 6} y={sy(t) + 4} textAnchor="end">{t.toFixed(1)}</text>
        </g>
      ))}
      <line x1={sx(lo)} y1={sy(lo)} x2={sx(hi)} y2={sy(hi)} stroke="#9aa4b1" strokeDasharray="4 3" />
      {x.map((v, i) => (
        <circle key={i} cx={sx(v)} cy={sy(y[i]!)} r={2.4} fill="#0b62c4" fillOpacity={0.45} />
      ))}
      <text x={(W + M.l) / 2} y={H - 6} textAnchor="middle">DFT Em (eV)</text>
      <text x={12} y={(H - M.b) / 2} textAnchor="middle" transform={`rotate(-90 12 ${(H - M.b) / 2})`}>predicted Em (eV)</text>
    </svg>
  );
}

/** Overlaid histograms of several series (e.g. DFT and predicted Em). */
export function Histogram({ series, binWidth, max, label }: { series: { name: string; values: number[]; color: string }[]; binWidth: number; max: number; label: string }) {
  const bins = Math.ceil(max / binWidth);
  const counts = series.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s.values) c[Math.min(bins - 1, Math.max(0, Math.floor(v / binWidth)))]!++;
    return c;
  });
  const top = Math.max(1, ...counts.flat());
  const bw = (W - M.l - M.r) / bins;
  const sy = (v: number) => H - M.b - (v / top) * (H - M.t - M.b);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="em-histogram">
      <YGrid top={top} sy={sy} format={(t) => String(Math.round(t))} />
      {counts.map((c, k) =>
        c.map((n, i) => <rect key={`${k}-${i}`} x={M.l + i * bw + (k * bw) / series.length} width={bw / series.length - 0.5} y={sy(n)} height={H - M.b - sy(n)} fill={series[k]!.color} />),
      )}
      {ticks(0, max, 4).map((t) => (
        <text key={t} x={M.l + (t / max) * (W - M.l - M.r)} y={H - M.b + 14} textAnchor="middle">{t.toFixed(1)}</text>
      ))}
      <text x={(W + M.l) / 2} y={H - 6} textAnchor="middle">Em (eV){max < 10 ? ` (last bin: ≥ ${(max - binWidth).toFixed(1)})` : ""}</text>
    </svg>
  );
}

/** Grouped bars: one group per label, one bar per series. */
export function Bars({ groups, series, label, max }: { groups: string[]; series: { name: string; values: number[]; color: string }[]; label: string; max?: number }) {
  const top = max ?? Math.max(...series.flatMap((s) => s.values)) * 1.1;
  const gw = (W - M.l - M.r) / groups.length;
  const bw = (gw * 0.8) / series.length;
  const sy = (v: number) => H - M.b - (v / top) * (H - M.t - M.b);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="bars">
      <YGrid top={top} sy={sy} format={(t) => t.toFixed(2)} />
      {groups.map((g, gi) => (
        <g key={g}>
          {series.map((s, si) => (
            <rect key={s.name} x={M.l + gi * gw + gw * 0.1 + si * bw} width={bw - 1} y={sy(s.values[gi]!)} height={H - M.b - sy(s.values[gi]!)} fill={s.color}>
              <title>{`${s.name} ${g}: ${s.values[gi]!.toFixed(3)}`}</title>
            </rect>
          ))}
          <text x={M.l + gi * gw + gw / 2} y={H - M.b + 14} textAnchor="middle">{g}</text>
        </g>
      ))}
    </svg>
  );
}

export function Legend({ items }: { items: { name: string; color: string }[] }) {
  return (
    <p className="legend">
      {items.map((i) => (
        <span key={i.name}>
          <i style={{ background: i.color }} />
          {i.name}
        </span>
      ))}
    </p>
  );
}
