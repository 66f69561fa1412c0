export { startApi } from "./server.js";
export { readEnv, EnvError, type ApiEnv } from "./env.js";
export { ErrorCode, apiError } from "./errors.js";
export { typeDefs } from "./schema.js";
