import type { Metadata } from "next";
import { ApiError, ev, gql } from "@/lib/api";
import { Bars, Histogram, Legend, ParityPlot } from "@/components/charts";
import { designRows, type Metrics, type Variant } from "@/lib/designs";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Model card" };

interface Card {
  name: string;
  version: string;
  date: string;
  featurizer: { version: string; config: Record<string, unknown> };
  architecture: { hidden: number; alignn_layers: number; gcn_layers: number; line_k: number; readout?: "mean" | "path"; parameters: number };
  ensemble: { members: { file: string; seed?: number }[] };
  calibration: {
    scale: number;
    raw: { within1sigma: number; within2sigma: number };
    calibrated: { within1sigma: number; within2sigma: number };
    method?: string;
    nested_within1sigma?: number;
    nested_within2sigma?: number;
  };
  threshold: { good_conductor_below_ev: number };
  cv: {
    folds: number;
    pretrained: Partial<Variant> & { metrics: Metrics };
    seed_runs?: { init_seeds: number[]; metrics: Metrics } | null;
    scratch: (Partial<Variant> & { metrics: Metrics }) | null;
    heldout?: { em_dft: number[]; em_predicted: number[] };
    variants?: Record<string, Partial<Variant> & { metrics: Metrics }>;
  };
  hyperparameters?: Variant["hyperparameters"] & { freeze?: number };
  pretraining: { validation_mae: Record<string, number>; epochs: number; device?: string; trunk?: { file: string; sha256: string } } | null;
}

export default async function ModelPage() {
  let card: Card | null = null;
  let tag = "";
  try {
    const d = await gql<{ activeModel: { tag: string; card: string } | null }>(`{ activeModel { tag card } }`);
    if (d.activeModel) {
      card = JSON.parse(d.activeModel.card) as Card;
      tag = d.activeModel.tag;
    }
  } catch (e) {
    return <p className="error" role="alert">Could not load the model: {e instanceof ApiError ? e.message : String(e)}</p>;
  }
  if (!card) return <p className="empty">No model is active. Start the API with a model card (IONRANK_MODEL).</p>;
  const pre = card.cv.pretrained.metrics;
  const scr = card.cv.scratch?.metrics ?? null;
  const seeds = card.cv.seed_runs ?? null;
  const wholeData = card.ensemble.members.every((m) => m.seed !== undefined);
  const h = card.cv.heldout;
  const cal = card.calibration;
  const designs = designRows(card.cv, tag, {
    model: card.architecture,
    featurizer: card.featurizer.version,
    pretrained: true,
    freeze: card.hyperparameters?.freeze,
    hyperparameters: card.hyperparameters,
  });
  const metricRows: [string, (m: Metrics) => string][] = [
    ["MAE (eV)", (m) => ev(m.mae, 3)],
    ["RMSE (eV)", (m) => ev(m.rmse, 3)],
    ["R²", (m) => ev(m.r2, 3)],
    ["Accuracy", (m) => `${(m.accuracy * 100).toFixed(1)} %`],
    ["Precision", (m) => `${(m.precision * 100).toFixed(1)} %`],
    ["Recall", (m) => `${(m.recall * 100).toFixed(1)} %`],
  ];
  return (
    <>
      <h1>Active model: {tag}</h1>
      <p>
        {card.ensemble.members.length}-member ensemble, hidden {card.architecture.hidden}, {card.architecture.alignn_layers} ALIGNN + {card.architecture.gcn_layers} GCN layers,{" "}
        {card.architecture.readout === "path" ? "read out over all atoms and the moving ion's path images, " : "mean readout over all atoms, "}
        {card.architecture.parameters.toLocaleString("en")} parameters per member; featurizer <code>{card.featurizer.version}</code>; trained {card.date}. Good conductor: Em &lt;{" "}
        {card.threshold.good_conductor_below_ev} eV.
      </p>
      <p>
        {wholeData
          ? `The members are trained on all ${pre.n} labelled pathways; the cross-validation below measures the same recipe on 4 of 5 folds at a time${seeds ? `, run with ${seeds.init_seeds.length} seeds` : ""}.`
          : `The members are the ${card.cv.folds} fold models of the cross-validation below.`}
      </p>
      <div className="grid2">
        <section aria-labelledby="cv">
          <h2 id="cv">
            {card.cv.folds}-fold cross-validation ({card.cv.pretrained.metrics.n} pathways)
          </h2>
          <div className="table-scroll">
            <table aria-label="Cross-validation metrics">
              <thead>
                <tr>
                  <th />
                  <th className="num">pre-trained + fine-tuned</th>
                  {seeds ? <th className="num">mean of {seeds.init_seeds.length} seeds</th> : null}
                  <th className="num">same network from scratch</th>
                </tr>
              </thead>
              <tbody>
                {metricRows.map(([name, f]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td className="num">{f(pre)}</td>
                    {seeds ? <td className="num">{f(seeds.metrics)}</td> : null}
                    <td className="num">{scr ? f(scr) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Bars
            label="MAE, RMSE and R² with and without pre-training"
            groups={["MAE", "RMSE", "R²", "accuracy"]}
            series={[
              { name: "pre-trained", values: [pre.mae, pre.rmse, pre.r2, pre.accuracy], color: "#0b62c4" },
              ...(scr ? [{ name: "from scratch", values: [scr.mae, scr.rmse, scr.r2, scr.accuracy], color: "#e69500" }] : []),
            ]}
          />
          <Legend items={[{ name: "pre-trained", color: "#0b62c4" }, ...(scr ? [{ name: "from scratch", color: "#e69500" }] : [])]} />
        </section>
        <section aria-labelledby="parity">
          <h2 id="parity">Parity: held-out predictions vs DFT</h2>
          {h ? <ParityPlot x={h.em_dft} y={h.em_predicted} label="Parity plot of cross-validated predictions against DFT barriers" /> : <p className="empty">This card has no held-out predictions.</p>}
        </section>
        <section aria-labelledby="dist">
          <h2 id="dist">Em distribution</h2>
          {h ? (
            <>
              <Histogram
                label="Distribution of DFT and predicted Em"
                binWidth={0.2}
                max={3}
                series={[
                  { name: "DFT", values: h.em_dft, color: "#6a3fb5" },
                  { name: "predicted (held out)", values: h.em_predicted, color: "#0b62c4" },
                ]}
              />
              <Legend items={[{ name: "DFT", color: "#6a3fb5" }, { name: "predicted (held out)", color: "#0b62c4" }]} />
            </>
          ) : null}
        </section>
        <section aria-labelledby="cal">
          <h2 id="cal">Calibration of the ensemble spread</h2>
          <Bars
            label="Share of held-out errors within 1 and 2 sigma, before and after calibration"
            groups={["within ±1σ", "within ±2σ"]}
            max={1}
            series={[
              { name: "raw spread", values: [cal.raw.within1sigma, cal.raw.within2sigma], color: "#b3261e" },
              { name: `× ${cal.scale.toFixed(2)}`, values: [cal.calibrated.within1sigma, cal.calibrated.within2sigma], color: "#16794c" },
              { name: "ideal (normal)", values: [0.6827, 0.9545], color: "#9aa4b1" },
            ]}
          />
          <Legend items={[{ name: "raw spread", color: "#b3261e" }, { name: `calibrated (× ${cal.scale.toFixed(2)})`, color: "#16794c" }, { name: "ideal (normal)", color: "#9aa4b1" }]} />
          {cal.method ? <p className="note">Fitted on the {cal.method}.</p> : null}
          {cal.nested_within1sigma !== undefined && cal.nested_within2sigma !== undefined ? (
            <p className="note" data-testid="calibration-check">
              Checked out of sample (scale fitted on 4 folds, tested on the fifth): {(cal.nested_within1sigma * 100).toFixed(1)} % within ±1σ, {(cal.nested_within2sigma * 100).toFixed(1)} % within ±2σ.
            </p>
          ) : null}
        </section>
      </div>
      {card.pretraining ? (
        <>
          <h2>Pre-training (validation MAE, targets scaled to [−1, 1])</h2>
          <p>
            {Object.entries(card.pretraining.validation_mae).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(" · ")} — {card.pretraining.epochs} epochs{card.pretraining.device ? ` on ${card.pretraining.device}` : ""}.
          </p>
          {card.pretraining.trunk ? (
            <p className="note" data-testid="trunk">
              The trunk ships with the model as {card.pretraining.trunk.file} (SHA-256 {card.pretraining.trunk.sha256.slice(0, 12)}…): <code>ionrank train --trunk models/{card.pretraining.trunk.file}</code> reruns the fine-tuning from it, without pre-training.
            </p>
          ) : null}
        </>
      ) : null}
      <h2>Designs compared on the same folds</h2>
      <p>Every design below was scored by the same {card.cv.folds}-fold cross-validation as the shipped model; best MAE first.</p>
      <div className="table-scroll">
        <table aria-label="Design variants">
          <thead>
            <tr>
              <th>Variant</th>
              <th>Design</th>
              <th className="num">MAE (eV)</th>
              <th className="num">RMSE (eV)</th>
              <th className="num">R²</th>
              <th className="num">Accuracy</th>
              <th>Trained on</th>
            </tr>
          </thead>
          <tbody>
            {designs.map((d) => (
              <tr key={d.name} data-testid="design-row" className={d.shipped ? "shipped" : undefined}>
                <td>
                  {d.name} {d.shipped ? <span className="pill good">shipped</span> : null}
                </td>
                <td className="design">{d.design}</td>
                <td className="num">{ev(d.metrics.mae, 3)}</td>
                <td className="num">{ev(d.metrics.rmse, 3)}</td>
                <td className="num">{ev(d.metrics.r2, 3)}</td>
                <td className="num">{(d.metrics.accuracy * 100).toFixed(1)} %</td>
                <td>{d.device ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
