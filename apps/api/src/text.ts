// PostgreSQL's text type cannot hold U+0000 (SQLite stores it): a NUL in any string argument made the
// PostgreSQL query fail (500) — an import mid-way — and the same request succeed on SQLite. Refused up front on
// both, as BAD_USER_INPUT naming the argument, before anything executes or is written. A structure file's
// `content` is exempt: it is parsed, never stored, and a NUL there is the parser's to judge for that one file
// (as `ionrank import` does), not a reason to refuse every other file of the request.
import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, visit, type DocumentNode, type ValueNode } from "graphql";
import { apiError, ErrorCode } from "./errors.js";

/** StructureInput's file text (the only input field of that name). */
const FILE_TEXT = "content";

const refuse = (path: string) => apiError(ErrorCode.BadUserInput, `${path}: text must not contain NUL characters (U+0000)`);

function checkLiteral(v: ValueNode, path: string): void {
  if (v.kind === Kind.STRING && v.value.includes("\0")) throw refuse(path);
  if (v.kind === Kind.LIST) v.values.forEach((x, i) => checkLiteral(x, `${path}[${i}]`));
  if (v.kind === Kind.OBJECT) for (const f of v.fields) if (f.name.value !== FILE_TEXT) checkLiteral(f.value, `${path}.${f.name.value}`);
}

function checkValue(v: unknown, path: string): void {
  if (typeof v === "string") {
    if (v.includes("\0")) throw refuse(path);
  } else if (Array.isArray(v)) v.forEach((x, i) => checkValue(x, `${path}[${i}]`));
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) if (k !== FILE_TEXT) checkValue(x, `${path}.${k}`);
}

/** Throw BAD_USER_INPUT when a string literal, variable default or variable value holds a NUL character. */
export function checkText(document: DocumentNode, variables: Record<string, unknown>): void {
  visit(document, {
    Argument: (node) => checkLiteral(node.value, node.name.value),
    VariableDefinition: (node) => {
      if (node.defaultValue) checkLiteral(node.defaultValue, `$${node.variable.name.value}`);
    },
  });
  for (const [name, v] of Object.entries(variables)) checkValue(v, `$${name}`);
}

/** Apollo plugin applying checkText once the operation and its variables are known. */
export function textPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          checkText(document, (request.variables ?? {}) as Record<string, unknown>);
        },
      };
    },
  };
}
