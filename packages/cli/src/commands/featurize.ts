import { DEFAULT_FEATURIZER_CONFIG, featurizeDataset, IMAGE_BONDS, type DatasetKind, type ImageBonds } from "@ionrank/featurize";
import { numberFlag, parseArgs } from "../args.js";
import { progressBar } from "../progress.js";
import { UsageError, type Output } from "../io.js";

export const featurizeHelp = `ionrank featurize --data FILE [--data FILE ...] --out DIR [--kind auto|pathway|bulk] [--property NAME] [--crop-radius R] [--image-bonds all|host|probe] [--quiet]

Featurize dataset files (JSON or .json.gz lists of {id, target, atoms}) into one graph dataset: raw
little-endian arrays plus manifest.json, readable with numpy alone. Several --data files make one
multi-property dataset (one target column per file, with a mask). --kind pathway treats every entry as a
5-image path structure (images flagged); auto (default) decides per file: path structures when every
entry's first 5 atoms are one element evenly spaced on a line that stops there, bulk when none is, and an
error naming the entries when a file mixes them. --property names the target of a
single --data file (default: the file's base name, or its folder for train/test files). --crop-radius keeps
only the atoms within R Å of a path image in path structures (default 0: the whole path structure).
--image-bonds picks the bonds of path images: all (default; any atom), host (images bond to host atoms only)
or probe (host atoms also ignore the images: messages flow only from the host to the images).
An entry with no bond at all (a vacuum cell), or a path image without one, is an error; atoms without a
neighbour within 8 Å in an otherwise bonded entry are featurized and listed as a warning on stderr.`;

export async function featurize(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["data", "out", "kind", "property", "crop-radius", "image-bonds"], booleans: ["quiet"], repeatable: ["data"] });
  const files = args.lists.get("data") ?? [];
  const dir = args.flags.get("out");
  if (files.length === 0) throw new UsageError("featurize needs --data FILE");
  if (typeof dir !== "string") throw new UsageError("featurize needs --out DIR");
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  // An empty value (an unset shell variable) is a mistake: "" as --out is the current folder, which would be replaced.
  if (dir.trim() === "") throw new UsageError("--out needs a folder name, not an empty value");
  if (files.some((f) => f.trim() === "")) throw new UsageError("--data needs a file name, not an empty value");
  const kind = (args.flags.get("kind") ?? "auto") as string;
  if (!["auto", "pathway", "bulk"].includes(kind)) throw new UsageError(`--kind must be auto, pathway or bulk, not "${kind}"`);
  const property = args.flags.get("property");
  if (typeof property === "string" && property.trim() === "") throw new UsageError("--property needs a name, not an empty value");
  // A plain decimal only: Number() reads "" and " " as 0 (no crop) and "0x10" as 16, silently another featurizer.
  const cropRadius = numberFlag(args, "crop-radius", 0, (v) => v >= 0, "a distance in Å ≥ 0");
  const imageBonds = (args.flags.get("image-bonds") ?? "all") as ImageBonds;
  if (!IMAGE_BONDS.includes(imageBonds)) throw new UsageError(`--image-bonds must be one of ${IMAGE_BONDS.join(", ")}, not "${imageBonds}"`);
  if (typeof property === "string" && files.length > 1) throw new UsageError("--property names the target of a single --data file");
  const summary = featurizeDataset(
    files.map((file) => ({ file, ...(typeof property === "string" ? { property } : {}) })),
    dir,
    { kind: kind as DatasetKind | "auto", config: { ...DEFAULT_FEATURIZER_CONFIG, cropRadius, imageBonds }, ...(args.flags.has("quiet") ? {} : { onProgress: progressBar("featurize", out.stderr) }) },
  );
  // Not refused (the shipped pre-training data has such entries), but the network sees only their element.
  if (summary.isolated.length > 0) {
    const shown = summary.isolated.slice(0, 10).map((i) => `${i.file}, entry ${i.id}: atom${i.atoms.length > 1 ? "s" : ""} ${i.atoms.slice(0, 5).map((a, k) => `${a} (${i.elements[k]})`).join(", ")}${i.atoms.length > 5 ? ", …" : ""}`);
    const more = summary.isolated.length > 10 ? `\n  (and ${summary.isolated.length - 10} more entries)` : "";
    out.stderr(`warning: ${summary.isolated.length} entr${summary.isolated.length > 1 ? "ies have atoms" : "y has atoms"} with no neighbour within ${DEFAULT_FEATURIZER_CONFIG.cutoff} Å (the network sees only their element):\n  ${shown.join("\n  ")}${more}\n`);
  }
  out.stdout(
    JSON.stringify({
      out: summary.out,
      graphs: summary.graphs,
      atoms: summary.atoms,
      edges: summary.edges,
      bytes: summary.bytes,
      properties: summary.properties,
      kinds: summary.kinds,
      featurizerVersion: summary.featurizerVersion,
    }) + "\n",
  );
  return 0;
}
