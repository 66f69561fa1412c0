import { GraphQLError } from "graphql";

/** Every error a client can see carries one of these codes (and an HTTP status). */
export enum ErrorCode {
  BadUserInput = "BAD_USER_INPUT",
  NotFound = "NOT_FOUND",
  Unauthenticated = "UNAUTHENTICATED",
  Forbidden = "FORBIDDEN",
  QueryTooComplex = "QUERY_TOO_COMPLEX",
  PayloadTooLarge = "PAYLOAD_TOO_LARGE",
  ModelUnavailable = "MODEL_UNAVAILABLE",
  /** The request is sound but collides with work in progress (e.g. deleting while an import runs): try again later. */
  Conflict = "CONFLICT",
  Internal = "INTERNAL_SERVER_ERROR",
  // Apollo Server's own codes for requests it refuses before any resolver runs.
  GraphqlParseFailed = "GRAPHQL_PARSE_FAILED",
  GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED",
  BadRequest = "BAD_REQUEST",
  OperationResolutionFailure = "OPERATION_RESOLUTION_FAILURE",
  PersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND",
  PersistedQueryNotSupported = "PERSISTED_QUERY_NOT_SUPPORTED",
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadUserInput]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.QueryTooComplex]: 400,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.ModelUnavailable]: 503,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Internal]: 500,
  [ErrorCode.GraphqlParseFailed]: 400,
  [ErrorCode.GraphqlValidationFailed]: 400,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.OperationResolutionFailure]: 400,
  [ErrorCode.PersistedQueryNotFound]: 404,
  [ErrorCode.PersistedQueryNotSupported]: 400,
};

const CODES = new Set<string>(Object.values(ErrorCode));

/** Whether a code is one of ours (anything else a client would see is reported as internal). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && CODES.has(code);
}

export function apiError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: HTTP_STATUS[code] } } });
}
