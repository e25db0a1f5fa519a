import type { ImportSourceName } from "../../../db/schema/imports";
import { genericCsvSource } from "./generic-csv";
import { ticktickSource } from "./ticktick";
import { todoistSource } from "./todoist";
import { trelloSource } from "./trello";
import type { ImportSource } from "./types";

/** Every app a file can come from, by the name `?source=` gives. */
export const SOURCES: Record<ImportSourceName, ImportSource> = {
  todoist: todoistSource,
  ticktick: ticktickSource,
  trello: trelloSource,
  csv: genericCsvSource,
};
