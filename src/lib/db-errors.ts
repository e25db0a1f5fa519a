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

/** `text` without the values a failed statement was bound to, which drizzle appends to its message. */
export const withoutBoundValues = (text: string, mark = "[not sent]"): string =>
  text.replace(BOUND_VALUES, `\nparams: ${mark}`);

/** An error as the logs may show it: its text without bound values. */
export const loggableError = (error: unknown): string => withoutBoundValues(String(error), "[not logged]");

/** Its stack, likewise (the message heads the stack). */
export const loggableStack = (error: unknown): string | undefined =>
  error instanceof Error && error.stack ? withoutBoundValues(error.stack, "[not logged]") : undefined;
