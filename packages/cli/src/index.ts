export { main } from "./main.js";
export { describeStructure } from "./commands/inspect.js";
export { UsageError, type Output } from "./io.js";
