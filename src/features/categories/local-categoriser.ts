/**
 * The local categoriser: pure, deterministic and fast (a few microseconds a task), so a task can be
 * filed the moment it is created, with no round trip. It scores the lexicon's words and phrases found
 * in the title, the tags and the description, and picks the category with the most evidence.
 */
import { TASK_CATEGORIES, type TaskCategory } from "../../db/schema/tasks";
import type { Categorised, CategoriseInput, Categoriser } from "./categoriser";
import { LEXICON, type Lexicon } from "./lexicon";

/**
 * With nothing to go on, a task is Personal: titles that name no study, job, body or craft are most
 * often life admin (errands, people, the home), and Personal is the category whose analytics a wrong
 * guess distorts least. The confidence says it is a guess.
 */
export const DEFAULT_CATEGORY: TaskCategory = "Personal";
export const NO_SIGNAL_CONFIDENCE = 0.1;

/** How much a word says, by where it was written: a tag is chosen on purpose; a description rambles. */
const WHERE = { title: 1, tag: 1.5, description: 0.5 } as const;
/** A tag that names a category ("#work", "health") files the task there all but surely. */
const CATEGORY_TAG_WEIGHT = 4;
const DESCRIPTION_CHARS = 500;

/** Small words skipped between a phrase's words ("walk the dog" is "walk dog"). */
const STOP_WORDS = new Set([
  "a",
  "an",
  "the",
  "my",
  "our",
  "your",
  "his",
  "her",
  "their",
  "its",
  "for",
  "to",
  "of",
  "with",
  "on",
  "at",
  "in",
  "and",
  "from",
  "about",
  "this",
  "that",
  "some",
  "me",
  "i",
]);

const WORD = /[\p{L}\p{N}]+(?::[\p{L}\p{N}]+)*(?:['’][\p{L}]*)?/gu;

/** The words of a text, lower-cased, possessives dropped ("Sam's" → "sam"), small words left out. */
export function wordsOf(text: string): string[] {
  const words: string[] = [];
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0].replace(/['’][\p{L}]*$/u, "");
    if (word && !STOP_WORDS.has(word)) words.push(word);
  }
  return words;
}

/** A plural's singular: "exams" → "exam", "groceries" → "grocery", "classes" → "class"; "thesis" stays. */
function singular(word: string): string {
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(?:ss|x|ch|sh|z|s)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !/[sui]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/**
 * The forms a typed word may be looked up as, most literal first: itself, its singular, and for -ing
 * words their base ("studying" → "study", "running" → "run", "writing" → "write").
 */
export function formsOf(word: string): string[] {
  const forms = [word];
  const one = singular(word);
  if (one !== word) forms.push(one);
  if (one.length > 5 && one.endsWith("ing")) {
    const stem = one.slice(0, -3);
    forms.push(stem, `${stem}e`);
    if (/([b-df-hj-np-tv-z])\1$/.test(stem) && !/(?:ll|ss|zz)$/.test(stem)) forms.push(stem.slice(0, -1));
  }
  return forms;
}

interface Entry {
  category: TaskCategory;
  words: string[];
  weight: number;
}

interface CompiledLexicon {
  /** Phrases of two words or more, longest first. */
  phrases: Entry[];
  /** One-word entries by word (a word may lean to more than one category). */
  words: Map<string, Entry[]>;
}

export function compile(lexicon: Lexicon): CompiledLexicon {
  const phrases: Entry[] = [];
  const words = new Map<string, Entry[]>();
  for (const category of TASK_CATEGORIES) {
    for (const [text, weight] of lexicon[category]) {
      const entry = { category, words: wordsOf(text), weight };
      if (entry.words.length > 1) phrases.push(entry);
      else if (entry.words[0]) words.set(entry.words[0], [...(words.get(entry.words[0]) ?? []), entry]);
    }
  }
  phrases.sort((a, b) => b.words.length - a.words.length || b.weight - a.weight);
  return { phrases, words };
}

const COMPILED = compile(LEXICON);

/** Evidence for each category: its score, and where its first piece was found (for ties). */
type Evidence = Map<TaskCategory, { score: number; first: number }>;

function add(evidence: Evidence, category: TaskCategory, score: number, at: number) {
  const seen = evidence.get(category);
  if (seen) seen.score += score;
  else evidence.set(category, { score, first: at });
}

const matchesAt = (forms: string[][], at: number, phrase: string[]) =>
  phrase.every((w, i) => forms[at + i]?.includes(w) ?? false);

/** Scores one text's words: phrases first (they take their words), then each word left. */
function scoreWords(
  evidence: Evidence,
  words: string[],
  factor: number,
  offset: number,
  lexicon: CompiledLexicon,
) {
  const taken = new Array<boolean>(words.length).fill(false);
  const forms = words.map(formsOf);
  for (const phrase of lexicon.phrases) {
    for (let at = 0; at + phrase.words.length <= words.length; at++) {
      const free = phrase.words.every((_, i) => !taken[at + i]);
      if (!free || !matchesAt(forms, at, phrase.words)) continue;
      phrase.words.forEach((_, i) => {
        taken[at + i] = true;
      });
      add(evidence, phrase.category, phrase.weight * factor, offset + at);
    }
  }
  forms.forEach((wordForms, at) => {
    if (taken[at]) return;
    const form = wordForms.find((f) => lexicon.words.has(f));
    for (const entry of form ? (lexicon.words.get(form) ?? []) : []) {
      add(evidence, entry.category, entry.weight * factor, offset + at);
    }
  });
}

const CATEGORY_BY_NAME = new Map(TASK_CATEGORIES.map((c) => [c.toLowerCase(), c]));

/** How sure a pick is: its share of all the evidence, times how much evidence there is at all. */
export function confidenceOf(top: number, total: number): number {
  if (top <= 0 || total <= 0) return NO_SIGNAL_CONFIDENCE;
  const share = top / total;
  const strength = 1 - Math.exp(-top / 1.5);
  return Math.round(Math.min(0.99, Math.max(NO_SIGNAL_CONFIDENCE, share * strength)) * 100) / 100;
}

/** The category a task's own words point to, with a confidence; Personal (0.1) when they point nowhere. */
export function categoriseLocally(
  input: CategoriseInput,
  lexicon: CompiledLexicon = COMPILED,
): Omit<Categorised, "by"> & { scores: Partial<Record<TaskCategory, number>> } {
  const evidence: Evidence = new Map();
  const title = wordsOf(input.title);
  scoreWords(evidence, title, WHERE.title, 0, lexicon);
  let offset = title.length;
  for (const tag of input.tags ?? []) {
    const named = CATEGORY_BY_NAME.get(tag.toLowerCase());
    if (named) add(evidence, named, CATEGORY_TAG_WEIGHT, offset);
    else scoreWords(evidence, wordsOf(tag), WHERE.tag, offset, lexicon);
    offset += 1;
  }
  if (input.description) {
    const words = wordsOf(input.description.slice(0, DESCRIPTION_CHARS));
    scoreWords(evidence, words, WHERE.description, offset, lexicon);
  }

  // Most evidence wins; on a tie, the category named first (titles lead with what matters).
  const ranked = [...evidence].sort(([, a], [, b]) => b.score - a.score || a.first - b.first);
  const total = ranked.reduce((sum, [, e]) => sum + e.score, 0);
  const best = ranked[0];
  const scores = Object.fromEntries(ranked.map(([c, e]) => [c, Math.round(e.score * 100) / 100]));
  if (!best) return { category: DEFAULT_CATEGORY, confidence: NO_SIGNAL_CONFIDENCE, scores };
  return { category: best[0], confidence: confidenceOf(best[1].score, total), scores };
}

/** The local categoriser behind the common interface. */
export const localCategoriser: Categoriser = {
  categorise: async (input) => {
    const { category, confidence } = categoriseLocally(input);
    return { category, confidence, by: "local" };
  },
};
