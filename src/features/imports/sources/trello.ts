/**
 * A Trello board's JSON export (Menu → Print, export and share → Export as JSON): the board with its
 * `lists`, `cards`, `checklists` (with `checkItems`) and `labels`. What becomes of it:
 * - Each open card of an open list is a task, in the board's order (lists, then cards, by `pos`); its
 *   `desc` is the description, `due` the due date, its labels (by name, else colour) and its list's name tags.
 * - Its checklists' items become micro-steps in order, done when `state` is "complete".
 * - `dueComplete`, or a list named Done / Completed / Finished, makes it completed.
 * - Archived cards (`closed`) and the cards of archived lists are skipped.
 * - The card id is kept (importing the same board again skips what came in).
 * The JSON is read whole (files are capped well below memory); problems point at `cards[i]`.
 */
import { parseInstant } from "./dates";
import { blankItem, eventsOfDraft, problem, short, tagOf } from "./fields";
import { type ImportSource, type SourceEvent, SourceRefusal } from "./types";

interface TrelloList {
  id?: unknown;
  name?: unknown;
  closed?: unknown;
  pos?: unknown;
}
interface TrelloLabel {
  id?: unknown;
  name?: unknown;
  color?: unknown;
}
interface TrelloCard {
  id?: unknown;
  name?: unknown;
  desc?: unknown;
  closed?: unknown;
  due?: unknown;
  dueComplete?: unknown;
  idList?: unknown;
  idLabels?: unknown;
  labels?: unknown;
  pos?: unknown;
}
interface TrelloChecklist {
  idCard?: unknown;
  pos?: unknown;
  checkItems?: unknown;
}
interface TrelloCheckItem {
  name?: unknown;
  state?: unknown;
  pos?: unknown;
}

const DONE_LIST = /^\s*(done|completed?|finished|erledigt|terminé|hecho|feito)\b/i;
const TRELLO_ID = /^[0-9a-f]{24}$/;

const str = (v: unknown) => (typeof v === "string" ? v : "");
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const arrayOf = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

async function wholeText(text: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const piece of text) parts.push(piece);
  return parts.join("");
}

/** Where a JSON syntax error is, from the position V8 names in its message. */
function syntaxPlace(message: string, text: string): { line: number } {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return { line: Number(lineCol[1]) };
  const at = /position (\d+)/.exec(message);
  if (at) return { line: text.slice(0, Number(at[1])).split("\n").length };
  return { line: text.split("\n").length };
}

function parseBoard(text: string): Record<string, unknown> {
  let board: unknown;
  try {
    board = JSON.parse(text);
  } catch (error) {
    const place = syntaxPlace(String(error), text);
    throw new SourceRefusal(
      `This is not a whole JSON file (line ${place.line}): it looks truncated or corrupted. Export the board from Trello again.`,
      place,
    );
  }
  if (!isObject(board) || !Array.isArray(board.cards) || !Array.isArray(board.lists)) {
    throw new SourceRefusal(
      "This is not a Trello board export: a board's JSON has `cards` and `lists` (export it from the board's menu).",
    );
  }
  return board;
}

/** When Trello made a card: the first 8 hex digits of its id are Unix seconds (at most 2106: always a date). */
function createdAtOfId(id: string): string | null {
  if (!TRELLO_ID.test(id)) return null;
  return new Date(Number.parseInt(id.slice(0, 8), 16) * 1000).toISOString();
}

export const trelloSource: ImportSource = {
  async *read(text, context): AsyncGenerator<SourceEvent> {
    const raw = await wholeText(text);
    const board = parseBoard(raw);
    const lists = new Map(
      arrayOf<TrelloList>(board.lists)
        .filter(isObject)
        .map((l) => [str(l.id), { name: str(l.name), closed: l.closed === true, pos: num(l.pos) }]),
    );
    const labels = new Map(
      arrayOf<TrelloLabel>(board.labels)
        .filter(isObject)
        .map((l) => [str(l.id), tagOf(str(l.name)) ?? tagOf(str(l.color))]),
    );
    const checklists = new Map<string, TrelloChecklist[]>();
    for (const checklist of arrayOf<TrelloChecklist>(board.checklists).filter(isObject)) {
      const card = str(checklist.idCard);
      // Appended in place: copying the list on each checklist made a card with n of them cost n².
      const own = checklists.get(card);
      if (own) own.push(checklist);
      else checklists.set(card, [checklist]);
    }

    const cards = arrayOf<TrelloCard>(board.cards).map((card, index) => ({ card, index }));
    const listPos = (card: TrelloCard) => lists.get(str(card.idList))?.pos ?? Number.MAX_SAFE_INTEGER;
    cards.sort(
      (a, b) => listPos(a.card) - listPos(b.card) || num(a.card.pos) - num(b.card.pos) || a.index - b.index,
    );

    const seen = new Set<string>();
    for (const { card, index } of cards) {
      const place = { field: `cards[${index}]` };
      if (!isObject(card)) {
        yield problem(place, "Not a card: skipped.", true);
        continue;
      }
      const id = str(card.id);
      const list = lists.get(str(card.idList));
      if (card.closed === true || list?.closed) {
        yield problem(place, "An archived card: skipped.", true);
        continue;
      }
      if (id && seen.has(id)) {
        yield problem(place, `Card ${short(id)} appears twice: skipped.`, true);
        continue;
      }
      if (id) seen.add(id);
      const item = blankItem(id ? `trello:${id}` : `card:${index}`, place);
      item.externalId = id || null;
      item.title = str(card.name);
      item.description = str(card.desc).trim() || null;
      const cardLabels = arrayOf<TrelloLabel>(card.labels).filter(isObject);
      const labelTags = cardLabels.length
        ? cardLabels.map((l) => labels.get(str(l.id)) ?? tagOf(str(l.name)) ?? tagOf(str(l.color)))
        : arrayOf<string>(card.idLabels).map((l) => labels.get(str(l)) ?? null);
      const listTag = list ? tagOf(list.name) : null;
      item.tags = [
        ...(listTag ? [listTag] : []),
        ...labelTags.filter((t): t is string => t !== null && t !== undefined),
      ];
      if (card.due !== null && card.due !== undefined) {
        item.dueAt = typeof card.due === "string" ? parseInstant(card.due, context.zone) : null;
        if (item.dueAt === null)
          yield problem(
            { field: `cards[${index}].due` },
            "The due date could not be read: imported without one.",
          );
      }
      if (card.dueComplete === true || (list && DONE_LIST.test(list.name))) item.status = "completed";
      const own = (checklists.get(id) ?? []).sort((a, b) => num(a.pos) - num(b.pos));
      for (const checklist of own) {
        const items = arrayOf<TrelloCheckItem>(checklist.checkItems)
          .filter(isObject)
          .sort((a, b) => num(a.pos) - num(b.pos));
        for (const step of items)
          item.steps.push({ description: str(step.name), done: step.state === "complete" });
      }
      item.createdAt = createdAtOfId(id);
      yield* eventsOfDraft(item);
    }
  },
};
