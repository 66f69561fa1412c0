/** Base class of every error @ionrank/db throws on purpose. */
export class DbError extends Error {
  override readonly name: string = "DbError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The database location is unusable (unsupported URL, directory cannot be created, file cannot be opened). */
export class DatabaseOpenError extends DbError {
  override readonly name = "DatabaseOpenError";
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open database ${url}: ${message}`, options);
  }
}

/** A migration failed, or one already applied no longer matches its file. The database is left as it was. */
export class MigrationError extends DbError {
  override readonly name = "MigrationError";
  constructor(
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${migration}: ${message}`, options);
  }
}

/** Input that cannot be stored: names the field and why. Nothing was written. */
export class ValidationError extends DbError {
  override readonly name = "ValidationError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A referenced row does not exist. */
export class NotFoundError extends DbError {
  override readonly name = "NotFoundError";
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
  }
}

/**
 * Another writer stored rows this one's plan did not account for (e.g. a material of the same structure key while
 * an import batch was being prepared), and trying again did not settle it. Nothing of the batch was written.
 */
export class ConcurrentWriteError extends DbError {
  override readonly name = "ConcurrentWriteError";
}

/**
 * Another process claimed (resumed) the import job this one was running, taking it for stopped: this one stops
 * before its next batch, so the two never count the same items. Nothing of that batch was written.
 */
export class JobClaimedError extends DbError {
  override readonly name = "JobClaimedError";
  constructor(readonly jobId: string) {
    super(`import job ${jobId} was resumed by another process: this one stopped (what it committed is kept)`);
  }
}

/** An import or predict job is running, and what was asked cannot be done safely beside it: try again when it ends. */
export class JobRunningError extends DbError {
  override readonly name = "JobRunningError";
  constructor(
    readonly jobId: string,
    readonly kind: string,
    what: string,
  ) {
    super(`${kind} job ${jobId} is running: ${what} waits until it ends (watch it with importJob, or ionrank import --resume after a crash)`);
  }
}
