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
  Internal = "INTERNAL_SERVER_ERROR",
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadUserInput]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.QueryTooComplex]: 400,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.ModelUnavailable]: 503,
  [ErrorCode.Internal]: 500,
};

export function apiError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: HTTP_STATUS[code] } } });
}
