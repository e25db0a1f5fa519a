/**
 * What the pet says: a line for its temperament and mood that notices the day — steps done today, the
 * streak, treats waiting, or a long absence — and never scolds. Pure and deterministic: the same pet,
 * mood, context and day give the same line, so it does not flicker on every refresh.
 */
import type { Personality } from "../../db/schema/pets";
import { seededRandom } from "../../lib/seeded-random";
import type { Mood } from "./care";

export interface DialogueContext {
  name: string;
  mood: Mood;
  temperament: Personality["temperament"];
  steps_today: number;
  streak_days: number;
  treats: number;
  /** Hours since the user last did anything the pet noticed (null: never). */
  hours_away: number | null;
  /** The local date, so the line changes from day to day. */
  date: string;
}

type Line = (c: DialogueContext) => string;

const MOOD_LINES: Record<Mood, Record<Personality["temperament"], readonly Line[]>> = {
  happy: {
    energetic: [
      (c) => `${c.name} is bouncing around: what's our next tiny win?`,
      () => "Let's go! One small step and we're rolling!",
    ],
    calm: [
      (c) => `${c.name} curls up next to you. Whenever you're ready.`,
      () => "It's nice just being here with you.",
    ],
    patient: [() => "I'm right here. No rush at all.", (c) => `${c.name} gives you a slow, happy blink.`],
  },
  hungry: {
    energetic: [
      () => "My tummy's rumbling! Got a treat from your work?",
      (c) => `${c.name} sniffs hopefully at your task list.`,
    ],
    calm: [
      () => "I could use a little snack, when you have a moment.",
      (c) => `${c.name} looks at the food bowl, then at you.`,
    ],
    patient: [
      () => "A snack would be lovely, but you come first.",
      (c) => `${c.name} waits by the bowl, tail curled.`,
    ],
  },
  playful: {
    energetic: [
      () => "Race you to the next step! Ready, set, GO!",
      (c) => `${c.name} is doing zoomies. Play time?`,
    ],
    calm: [
      () => "Want to play a little? It helps the brain reset.",
      (c) => `${c.name} nudges a toy toward you.`,
    ],
    patient: [
      () => "Play break? Work will still be here after.",
      (c) => `${c.name} rolls over, hoping for a game.`,
    ],
  },
  sleepy: {
    energetic: [
      () => "Yawn… even champions need sleep. Big day tomorrow!",
      (c) => `${c.name} is napping with one eye open.`,
    ],
    calm: [() => "It's late. Resting is doing something too.", (c) => `${c.name} is snoozing softly.`],
    patient: [() => "Sleep well. Tomorrow we start fresh.", (c) => `${c.name} tucks its nose in and dozes.`],
  },
  sad: {
    energetic: [
      () => "I missed you! Let's do one small thing together?",
      (c) => `${c.name} perks up a little when it sees you.`,
    ],
    calm: [
      () => "I'm so glad you're here. One tiny step is plenty.",
      (c) => `${c.name} leans against you, happy you came.`,
    ],
    patient: [
      () => "You came back. That's what matters. Want a cuddle?",
      (c) => `${c.name} looks up at you, glad to see you.`,
    ],
  },
};

const CONTEXT_LINES: readonly { when: (c: DialogueContext) => boolean; say: Line }[] = [
  {
    when: (c) => c.hours_away !== null && c.hours_away >= 72,
    say: () => "You're back! No catching up needed, let's just pick one small thing.",
  },
  { when: (c) => c.steps_today >= 5, say: (c) => `${c.steps_today} steps today! That's a real day's work.` },
  {
    when: (c) => c.steps_today > 0,
    say: (c) => `${c.steps_today === 1 ? "One step" : `${c.steps_today} steps`} done today. Nice going.`,
  },
  { when: (c) => c.streak_days >= 3, say: (c) => `That's a ${c.streak_days}-day streak we're on together.` },
  { when: (c) => c.treats >= 20, say: (c) => `You've earned ${c.treats} XP of treats. Snack time?` },
];

/** One line for now. */
export function dialogueLine(petSeed: string, context: DialogueContext): string {
  const next = seededRandom(`${petSeed}:${context.date}:${context.mood}:${context.steps_today}`);
  const lines = MOOD_LINES[context.mood][context.temperament];
  const moodLine = (lines[Math.floor(next() * lines.length)] ?? lines[0])?.(context) ?? "";
  const extra = CONTEXT_LINES.find((l) => l.when(context));
  // Sleepy and sad moods speak for themselves; otherwise the day gets a mention half the time.
  if (!extra || context.mood === "sleepy") return moodLine;
  if (context.mood === "sad" || next() < 0.5) return extra.say(context);
  return moodLine;
}
