/** Where in an input a problem was found. Every field is optional because not every format has blocks or lines. */
export interface SourceLocation {
  /** File name or other source label ("<stdin>", a database id). */
  file?: string;
  /** CIF data block name, dataset entry id, or frame number. */
  block?: string;
  /** 1-based line number. */
  line?: number;
}

/**
 * Base class of every error this package throws on purpose. Its message never holds non-printable characters:
 * input echoed into it (a binary file's bytes, a block name) shows them escaped instead of corrupting a terminal
 * or a database column.
 */
export class CrystalError extends Error {
  override name = "CrystalError";
  constructor(message = "", options?: ErrorOptions) {
    super(printable(message), options);
  }
}

// Controls (C0, DEL, C1), format characters (bidi overrides, zero-width), lone surrogates, private-use and
// unassigned code points, and the Unicode line/paragraph separators.
const NON_PRINTABLE = /[\p{C}\u2028\u2029]/gu;

/** `text` with every non-printable character written as an escape: NUL → `\u0000`, U+E0001 → `\u{E0001}`. */
export function printable(text: string): string {
  return text.replace(NON_PRINTABLE, (c) => {
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16).toUpperCase()}}` : `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  });
}

/**
 * A value from an input, for an error message: in double quotes, non-printable characters escaped, and cut to
 * `max` characters with "…" (a whole binary file can be one "value").
 */
export function quoteValue(text: string, max = 40): string {
  const chars = Array.from(text); // code points: a cut never splits a surrogate pair
  const shown = chars.length > max ? chars.slice(0, max).join("") + "…" : text;
  return `"${printable(shown)}"`;
}

/** An input file or document could not be read as a structure. */
export class ParseError extends CrystalError {
  override name = "ParseError";
  readonly file: string | undefined;
  readonly block: string | undefined;
  readonly line: number | undefined;
  readonly reason: string;

  constructor(reason: string, where: SourceLocation = {}) {
    super(formatLocation(where) + reason);
    this.reason = printable(reason);
    this.file = where.file;
    this.block = where.block;
    this.line = where.line;
  }

  /** The same error, with the file name filled in when the parser did not know it. */
  withFile(file: string): ParseError {
    if (this.file !== undefined) return this;
    return new ParseError(this.reason, { file, block: this.block, line: this.line });
  }
}

/** An input is too large to read (a gzip file inflating past `limit` bytes); the data itself may be fine. */
export class InputTooLargeError extends ParseError {
  override name = "InputTooLargeError";
  constructor(
    reason: string,
    readonly limit: number,
    where: SourceLocation = {},
  ) {
    super(reason, where);
  }
}

/** A structure is physically or numerically invalid (singular lattice, NaN coordinates, …). */
export class InvalidStructureError extends CrystalError {
  override name = "InvalidStructureError";
}

/** An operation needs every site fully occupied by one element, and this structure has partial occupancy. */
export class DisorderedStructureError extends CrystalError {
  override name = "DisorderedStructureError";
  constructor(
    readonly operation: string,
    readonly sites: number[],
  ) {
    const shown = sites.slice(0, 5).join(", ") + (sites.length > 5 ? `, … (${sites.length} in all)` : "");
    super(
      `${operation} needs an ordered structure, but site(s) ${shown} are partially occupied; ` +
        `order the structure first (IonRank does not invent an ordering)`,
    );
  }
}

function formatLocation(where: SourceLocation): string {
  const parts: string[] = [];
  if (where.file !== undefined) parts.push(where.file);
  if (where.block !== undefined) parts.push(`block ${where.block}`);
  if (where.line !== undefined) parts.push(`line ${where.line}`);
  return parts.length > 0 ? parts.join(", ") + ": " : "";
}
