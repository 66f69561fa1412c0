import { constants as bufferConstants } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { basename, resolve as resolvePath } from "node:path";
import { CrystalError, InputTooLargeError, ParseError } from "../errors.js";
import type { Structure } from "../structure.js";
import { readCif, readCifEntries } from "./cif.js";
import { readJsonStructures } from "./json.js";
import { readPoscar } from "./poscar.js";
import { readExtxyz } from "./xyz.js";

export type StructureFormat = "cif" | "poscar" | "extxyz" | "json";

export interface ReadOptions {
  /** Name used in error messages and as the structures' source. */
  file?: string;
  /** Force a format instead of detecting it. */
  format?: StructureFormat;
  /** Species for VASP 4 POSCARs. */
  species?: readonly string[];
}

/**
 * Detect a structure format from the file name, then from the content.
 * Names: .cif; POSCAR, CONTCAR, .vasp, .poscar; .xyz, .extxyz; .json (each optionally .gz).
 */
export function detectFormat(text: string, file?: string): StructureFormat {
  const name = file ? basename(file).toLowerCase().replace(/\.gz$/, "") : "";
  if (name.endsWith(".cif") || name.endsWith(".mcif")) return "cif";
  if (name.endsWith(".json")) return "json";
  if (name.endsWith(".xyz") || name.endsWith(".extxyz")) return "extxyz";
  if (/(^|[._-])(poscar|contcar)([._-]|$)/.test(name) || name.endsWith(".vasp")) return "poscar";
  const head = text.slice(0, 4096).trimStart();
  if (head.startsWith("{") || head.startsWith("[")) return "json";
  if (/^(#\\#CIF_|data_)/im.test(head) || /^\s*data_\S*/m.test(head)) return "cif";
  const lines = head.split(/\r?\n/);
  if (/^\d+\s*$/.test(lines[0] ?? "") && /lattice\s*=/i.test(lines[1] ?? "")) return "extxyz";
  if (lines.length > 5 && /^\s*-?[\d.]+(\s+[\d.]+){0,2}\s*$/.test(lines[1] ?? "")) return "poscar";
  throw new ParseError("cannot tell the format from the name or the content (expected CIF, POSCAR, extended XYZ or JSON)", {
    ...(file !== undefined ? { file } : {}),
  });
}

/** Read every structure in a text, detecting its format. Throws ParseError only. */
export function readStructures(text: string, options: ReadOptions = {}): Structure[] {
  const file = options.file;
  const format = options.format ?? detectFormat(text, file);
  try {
    switch (format) {
      case "cif":
        return readCif(text, { ...(file !== undefined ? { file } : {}) });
      case "poscar":
        return [readPoscar(text, { ...(file !== undefined ? { file } : {}), ...(options.species ? { species: options.species } : {}) })];
      case "extxyz":
        return readExtxyz(text, { ...(file !== undefined ? { file } : {}) });
      case "json":
        return readJsonStructures(text, { ...(file !== undefined ? { file } : {}) });
    }
  } catch (e) {
    if (e instanceof ParseError) throw e;
    if (e instanceof CrystalError) throw new ParseError(e.message, { ...(file !== undefined ? { file } : {}) });
    // Anything else escaping a reader is a bug in IonRank, but the caller still gets a ParseError naming the input.
    throw new ParseError(`unexpected error while reading ${format}: ${(e as Error).message}`, { ...(file !== undefined ? { file } : {}) });
  }
}

/**
 * Read every structure in a text, entry by entry: a multi-block CIF gives each block's Structure or the
 * ParseError naming what is wrong with that block; other formats give their structures (a bad file throws).
 */
export function readStructureEntries(text: string, options: ReadOptions = {}): (Structure | ParseError)[] {
  const file = options.file;
  const format = options.format ?? detectFormat(text, file);
  if (format !== "cif") return readStructures(text, { ...options, format });
  try {
    return readCifEntries(text, { ...(file !== undefined ? { file } : {}) });
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError(e instanceof CrystalError ? e.message : `unexpected error while reading cif: ${(e as Error).message}`, { ...(file !== undefined ? { file } : {}) });
  }
}

/** The data block an entry of readStructureEntries came from (a CIF block's name), when known. */
export function entryBlock(entry: Structure | ParseError): string | undefined {
  return entry instanceof ParseError ? entry.block : entry.source?.block;
}

/** readStructureEntries of a file (plain or gzip) on disk. */
export async function readStructureFileEntries(path: string, options: Omit<ReadOptions, "file"> = {}): Promise<(Structure | ParseError)[]> {
  return readStructureEntries(readTextFile(path).text, { ...options, file: path });
}

/**
 * Why a path cannot hold files IonRank writes (a database, a dataset), or null: /proc and /sys are kernel file
 * systems, and mkdir under /proc spins forever in Node 20 instead of failing.
 */
export function unwritableLocation(path: string): string | null {
  const full = resolvePath(path);
  return /^\/(proc|sys)(\/|$)/.test(full) ? `${full} is on a kernel file system (/proc, /sys): choose a folder on a disk` : null;
}

/**
 * Why a file system call failed, in words ("it is a folder", "no such file"), for a message that already names
 * the file. Node's codes (EISDIR) mean little to a user; an unknown code keeps Node's own message.
 */
export function fileErrorReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "it is a folder, not a file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a part of its path is a file, not a folder";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "the name is too long";
    case "EMFILE":
    case "ENFILE":
      return "too many open files";
    case "EIO":
      return "input/output error";
    case "ERR_FS_FILE_TOO_LARGE":
      return "it is too large to read (over 2 GiB)";
    default:
      return err instanceof Error ? err.message : String(e);
  }
}

/** Bytes in words for a message: "4 GiB", "512 MiB", "1000 bytes". */
function byteSize(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}

/**
 * Read a text file that may be gzip-compressed (detected from its magic bytes, not its name). Returns the
 * bytes as stored (for hashing) and the decoded text; failures are ParseErrors naming the file.
 * `maxBytes` caps what a gzip file may inflate to (default and upper bound: Node's buffer limit), e.g. for a
 * service that must not let a small upload inflate to gigabytes; beyond it is an InputTooLargeError.
 */
export function readTextFile(path: string, options: { maxBytes?: number } = {}): { raw: Buffer; text: string } {
  const limit = Math.min(options.maxBytes ?? bufferConstants.MAX_LENGTH, bufferConstants.MAX_LENGTH);
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new ParseError(`cannot read file: ${fileErrorReason(e)}`, { file: path });
  }
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return { raw, text: decodeText(raw) };
  let inflated: Buffer;
  try {
    inflated = gunzipSync(raw, { maxOutputLength: limit });
  } catch (e) {
    // zlib stops at the limit with this code: the data is fine, just too much to hold ("corrupt" would mislead).
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      const whose = limit === bufferConstants.MAX_LENGTH ? "Node's buffer limit" : "the limit";
      throw new InputTooLargeError(`too large: its gzip data inflates to more than ${byteSize(limit)} (${whose})`, limit, { file: path });
    }
    throw new ParseError(`corrupt gzip data: ${(e as Error).message}`, { file: path });
  }
  return { raw, text: decodeText(inflated) };
}

/**
 * Bytes → text: UTF-8 (a byte-order mark dropped); a file that is not valid UTF-8 is read as Latin-1, which
 * keeps every byte (older CIFs put accented author names in Latin-1). Replacement characters would hide a
 * corrupt species; with every byte kept, the strict symbol readers refuse it by name.
 */
export function decodeText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = Buffer.from(bytes).toString("latin1");
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Read every structure in a file (plain or gzip) from disk. */
export async function readStructureFile(path: string, options: Omit<ReadOptions, "file"> = {}): Promise<Structure[]> {
  return readStructures(readTextFile(path).text, { ...options, file: path });
}
