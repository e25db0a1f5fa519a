import type { ImportSourceName } from "../../../db/schema/imports";
import { genericCsvSource } from "./generic-csv";
import { ticktickSource } from "./ticktick";
import { todoistSource } from "./todoist";
import { trelloSource } from "./trello";
import { type ImportSource, SourceRefusal } from "./types";

/** The apps whose files a source reads; "export" (a restore) has its own reader (imports/restore). */
export type FileSourceName = Exclude<ImportSourceName, "export">;

/** Every app a file can come from, by the name `?source=` gives. */
export const SOURCES: Record<FileSourceName, ImportSource> = {
  todoist: todoistSource,
  ticktick: ticktickSource,
  trello: trelloSource,
  csv: genericCsvSource,
};

/** The source of an import; a restore is never read through one (its job and preview are its own). */
export function sourceOf(name: ImportSourceName): ImportSource {
  if (name === "export") throw new SourceRefusal("A restore is read by the restore job, not as an import.");
  return SOURCES[name];
}
