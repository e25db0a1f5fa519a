/** What a D1 error says, its cause's text included: D1 reports SQLite's text there. */
export const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);

/** D1 reports constraint failures as errors whose message carries SQLite's text. */
export function isUniqueViolation(error: unknown): boolean {
  const message = errorText(error);
  return /UNIQUE constraint failed|PRIMARY KEY constraint failed|SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)/i.test(
    message,
  );
}

/** drizzle's failed-query errors end with the values bound to the statement: emails, titles, hashes. */
const BOUND_VALUES = /\nparams: [^\n]*/g;

/**
 * An error as logs and error reports may show it: its text (and stack) without the values a failed
 * statement was bound to, which drizzle appends to the message.
 */
export function loggableError(error: unknown): string {
  return String(error).replace(BOUND_VALUES, "\nparams: [not logged]");
}

/** A stack with the same values taken out. */
export const loggableStack = (error: unknown): string | undefined =>
  error instanceof Error ? error.stack?.replace(BOUND_VALUES, "\nparams: [not logged]") : undefined;

/** `text` without bound values (for messages already taken out of an error). */
export const withoutBoundValues = (text: string): string =>
  text.replace(BOUND_VALUES, "\nparams: [not sent]");
