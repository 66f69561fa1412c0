// Query limits (what GraphQL Armor does, in a few rules): nesting depth, aliases, and an estimated cost in
// which every list multiplies what is below it by its page size. Token counts are limited by the parser
// (Apollo's parseOptions.maxTokens). Each violation is a QUERY_TOO_COMPLEX error before anything executes.
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { DEFAULT_PAGE_SIZE } from "@ionrank/db";
import { ErrorCode, HTTP_STATUS } from "./errors.js";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 10, maxAliases: 20, maxCost: 50_000, maxTokens: 3_000 };

const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.QueryTooComplex, http: { status: HTTP_STATUS[ErrorCode.QueryTooComplex] } } });

/** Page size a list field asks for (its `first` argument: literal, variable, or the variable's default), else the default. */
function pageOf(field: FieldNode, variables: Record<string, unknown>, operation: OperationDefinitionNode): number {
  const arg = field.arguments?.find((a) => a.name.value === "first");
  if (!arg) return DEFAULT_PAGE_SIZE;
  if (arg.value.kind === Kind.INT) return Number(arg.value.value);
  if (arg.value.kind === Kind.VARIABLE) {
    const name = arg.value.name.value;
    if (variables[name] != null) return Number(variables[name]);
    const def = operation.variableDefinitions?.find((v) => v.variable.name.value === name)?.defaultValue;
    return def?.kind === Kind.INT ? Number(def.value) : DEFAULT_PAGE_SIZE;
  }
  return DEFAULT_PAGE_SIZE;
}

// Fields that return many rows without a `first` argument of their own.
// (A connection's `edges` are already counted by the connection's page size.)
const LIST_FIELDS = new Set(["pathways", "predictions", "models", "errors", "sites"]);

/** Throw QUERY_TOO_COMPLEX when the operation is too deep, has too many aliases or would cost too much. */
export function checkLimits(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>, limits: QueryLimits): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let aliases = 0;
  const walk = (set: SelectionSetNode | undefined, depth: number, multiplier: number, seen: Set<string>): number => {
    if (!set) return 0;
    if (depth > limits.maxDepth) throw tooComplex(`query is nested more than ${limits.maxDepth} levels deep`);
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.alias) aliases++;
        const isConnection = sel.arguments?.some((a) => a.name.value === "first") || ["materials", "ranking", "pathways"].includes(sel.name.value);
        const m = isConnection ? multiplier * Math.max(1, pageOf(sel, variables, operation)) : LIST_FIELDS.has(sel.name.value) ? multiplier * 10 : multiplier;
        // Scalars are free: cost counts the objects a query makes the server load.
        cost += (sel.selectionSet ? m : 0) + walk(sel.selectionSet, depth + 1, m, seen);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        cost += walk(sel.selectionSet, depth, multiplier, seen);
      } else {
        const name = sel.name.value;
        if (seen.has(name)) throw tooComplex(`fragment ${name} spreads itself`);
        cost += walk(fragments.get(name)?.selectionSet, depth, multiplier, new Set([...seen, name]));
      }
    }
    return cost;
  };
  const cost = walk(operation.selectionSet, 1, 1, new Set());
  if (aliases > limits.maxAliases) throw tooComplex(`query uses ${aliases} aliases; at most ${limits.maxAliases} are allowed`);
  if (cost > limits.maxCost) throw tooComplex(`query would cost about ${cost} (each list multiplies what it holds by its page size); at most ${limits.maxCost} is allowed`);
}

/** Apollo plugin applying checkLimits once the operation and its variables are known. */
export function limitsPlugin<T extends object>(limits: QueryLimits): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (operation) checkLimits(document, operation, (request.variables ?? {}) as Record<string, unknown>, limits);
        },
      };
    },
  };
}
