import type { FieldError } from "./errors";

interface IssueLike {
  path: PropertyKey[];
  message: string;
  code?: string;
}

/** Turns zod issues into the `errors` list of a 422 problem, one entry per failing field. */
export function zodIssuesToFieldErrors(issues: readonly IssueLike[]): FieldError[] {
  return issues.map((issue) => ({
    field: issue.path.map((p) => String(p)).join("."),
    message: issue.message,
  }));
}
