/**
 * The pet's care loop as a pure machine: (state, action, now) → state and effects. The PetState Durable
 * Object stores the state, carries out the effects and arms its one alarm at `nextAttentionAt`.
 *
 * Nothing ticks. Fullness and happiness are stored with the moment they were true, and decay is worked
 * out from timestamps on every read: fullness −4/hour and happiness −2/hour while the user is awake,
 * half that at night (22:00–07:00 in their time zone). A pet never dies, never loses levels, and stops
 * fading at a floor (10; 20 with Steadfast): an ADHD user back after a week finds it sad but glad to see
 * them, never ruined. Below 30 in either stat it needs attention, and says so once per episode.
 */
import type { Personality } from "../../db/schema/pets";
import type { EventEffect, EventType } from "../../lib/events/catalog";
import { localHourReader, localParts } from "../../lib/time";
import { addXp, type PetSpecies, perksAt, type Stage, stageForLevel, xpToNextLevel } from "./growth";

const HOUR = 3_600_000;
const MINUTE = 60_000;

export const FULLNESS_PER_HOUR = 4;
export const HAPPINESS_PER_HOUR = 2;
export const NIGHT_FROM_HOUR = 22;
export const NIGHT_UNTIL_HOUR = 7;
export const NIGHT_FACTOR = 0.5;
export const ATTENTION_BELOW = 30;
export const MAX_STAT = 100;
/** Decay is worked out at most this far back: by then both stats are at their floor anyway. */
const MAX_DECAY_DAYS = 14;

export const PET_COOLDOWN_MINUTES = 2;
/** `pet.fed` (the event badges count) at most this often: feeding 1 XP at a time earns no badge. */
export const FED_EVENT_EVERY_MINUTES = 15;
export const MAX_FEED_XP = 10_000;

export const MOODS = ["happy", "hungry", "playful", "sleepy", "sad"] as const;
export type Mood = (typeof MOODS)[number];

export interface PetState {
  pet_id: string;
  user_id: string;
  species: PetSpecies;
  name: string;
  /** Seeds the picture and the local personality: stable for the pet's life. */
  seed: string;
  timezone: string;
  level: number;
  /** XP into the current level. */
  xp: number;
  total_xp: number;
  stage: Stage;
  auto_evolve: boolean;
  /** Fullness (100 = full) and happiness as they were at `stats_at`. */
  fullness: number;
  happiness: number;
  stats_at: number;
  /** Earned XP not yet fed: work fills it, feeding spends it. */
  treats: number;
  needs_attention: boolean;
  play_ready_at: number;
  pet_ready_at: number;
  fed_event_ready_at: number;
  personality: Personality | null;
  created_at: number;
  /** When it was last fed (ms); states stored before this was kept have none, read as null. */
  last_fed_at?: number | null;
}

export type PetAction =
  | { type: "feed"; xp: number }
  | { type: "play" }
  | { type: "pet" }
  | { type: "evolve" }
  | { type: "nourish"; kind: "step" | "task" | "focus"; xp: number }
  | { type: "rename"; name: string }
  | { type: "set_auto_evolve"; auto_evolve: boolean }
  | { type: "set_personality"; personality: Personality }
  | { type: "set_timezone"; timezone: string };

export const PET_SIGNALS = [
  "fed",
  "played",
  "petted",
  "leveled_up",
  "evolved",
  "nourished",
  "needs_attention",
  "changed",
] as const;
export type PetSignal = (typeof PET_SIGNALS)[number];

export const PET_EVENT_TYPES = [
  "pet.fed",
  "pet.leveled_up",
  "pet.evolved",
  "pet.needs_attention",
] as const satisfies readonly EventType[];
export type PetEventType = (typeof PET_EVENT_TYPES)[number];

export type PetEffect =
  | { type: "signal"; signal: PetSignal; at: number }
  | EventEffect<PetEventType>
  | { type: "interaction"; kind: string; xp: number; fullness: number; happiness: number; at: number };

export interface PetError {
  status: 409 | 422;
  code: string;
  detail: string;
  field?: string;
  retry_after_seconds?: number;
}

export interface PetStep {
  state: PetState;
  effects: PetEffect[];
  error: PetError | null;
}

const isNight = (hour: number) => hour >= NIGHT_FROM_HOUR || hour < NIGHT_UNTIL_HOUR;

/** Hours awake and asleep (local night) between two instants, split at each hour. */
export function awakeAndAsleep(
  from: number,
  to: number,
  timezone: string,
): { awake: number; asleep: number } {
  let awake = 0;
  let asleep = 0;
  const hourAt = localHourReader(timezone);
  let cursor = Math.max(from, to - MAX_DECAY_DAYS * 24 * HOUR);
  while (cursor < to) {
    const next = Math.min(to, cursor - (cursor % HOUR) + HOUR);
    const hours = (next - cursor) / HOUR;
    if (isNight(hourAt(cursor))) asleep += hours;
    else awake += hours;
    cursor = next;
  }
  return { awake, asleep };
}

function decayOne(
  value: number,
  perHour: number,
  hours: { awake: number; asleep: number },
  floor: number,
): number {
  // A stat already under the floor (say, a fresh pet set low) does not sink further, nor rise by itself.
  if (value <= floor) return value;
  const lost = perHour * (hours.awake + hours.asleep * NIGHT_FACTOR);
  return Math.max(floor, value - lost);
}

/** Fullness and happiness at `now`, worked out from the stored values and the time since. */
export function statsAt(state: PetState, now: number): { fullness: number; happiness: number } {
  if (now <= state.stats_at) return { fullness: state.fullness, happiness: state.happiness };
  const perks = perksAt(state.level);
  const hours = awakeAndAsleep(state.stats_at, now, state.timezone);
  return {
    fullness: decayOne(state.fullness, FULLNESS_PER_HOUR * perks.fullnessDecayFactor, hours, perks.statFloor),
    happiness: decayOne(
      state.happiness,
      HAPPINESS_PER_HOUR * perks.happinessDecayFactor,
      hours,
      perks.statFloor,
    ),
  };
}

/** The state with its stats brought to `now` (what every action starts from). */
export function settleStats(state: PetState, now: number): PetState {
  const { fullness, happiness } = statsAt(state, now);
  return { ...state, fullness, happiness, stats_at: Math.max(now, state.stats_at) };
}

const needsAttention = (s: { fullness: number; happiness: number }) =>
  s.fullness < ATTENTION_BELOW || s.happiness < ATTENTION_BELOW;

/**
 * When either stat will first fall under the attention line, for the alarm; null when one already is
 * (the flag is up). Floors (10, 20) lie under the line, so a fading pet always crosses it first.
 */
export function nextAttentionAt(state: PetState): number | null {
  if (needsAttention(state)) return null;
  const perks = perksAt(state.level);
  let cursor = state.stats_at;
  let { fullness, happiness } = state;
  const hourAt = localHourReader(state.timezone);
  const end = cursor + MAX_DECAY_DAYS * 24 * HOUR;
  while (cursor < end) {
    const next = cursor - (cursor % HOUR) + HOUR;
    const factor = isNight(hourAt(cursor)) ? NIGHT_FACTOR : 1;
    const hours = (next - cursor) / HOUR;
    const fLoss = FULLNESS_PER_HOUR * perks.fullnessDecayFactor * factor * hours;
    const hLoss = HAPPINESS_PER_HOUR * perks.happinessDecayFactor * factor * hours;
    const fAt = fullness - fLoss;
    const hAt = happiness - hLoss;
    if (fAt < ATTENTION_BELOW || hAt < ATTENTION_BELOW) {
      // Inside this hour: solve for the first stat to cross the line.
      const fTime =
        fLoss > 0 && fAt < ATTENTION_BELOW
          ? ((fullness - ATTENTION_BELOW) / fLoss) * (next - cursor)
          : Infinity;
      const hTime =
        hLoss > 0 && hAt < ATTENTION_BELOW
          ? ((happiness - ATTENTION_BELOW) / hLoss) * (next - cursor)
          : Infinity;
      return Math.ceil(cursor + Math.max(0, Math.min(fTime, hTime))) + 1;
    }
    fullness = Math.max(perks.statFloor, fAt);
    happiness = Math.max(perks.statFloor, hAt);
    cursor = next;
  }
  return null;
}

/** The pet's mood: what its face shows and how it talks. */
export function moodOf(state: PetState, now: number): Mood {
  const { fullness, happiness } = statsAt(state, now);
  if (happiness < ATTENTION_BELOW) return "sad";
  if (fullness < 40) return "hungry";
  if (isNight(localParts(state.timezone, now).hour)) return "sleepy";
  if (happiness >= 70 && fullness >= 50) return "playful";
  return "happy";
}

const clamp = (n: number) => Math.min(MAX_STAT, Math.max(0, n));

/** Raises stats (and XP, with its level-ups and evolution) and says what happened. */
function grow(
  state: PetState,
  now: number,
  kind: string,
  gains: { xp: number; fullness: number; happiness: number },
  signal: PetSignal,
): { state: PetState; effects: PetEffect[] } {
  const effects: PetEffect[] = [];
  const grown = addXp(state.level, state.xp, gains.xp);
  let next: PetState = {
    ...state,
    level: grown.level,
    xp: grown.xp,
    total_xp: state.total_xp + Math.max(0, Math.floor(gains.xp)),
    fullness: clamp(state.fullness + gains.fullness),
    happiness: clamp(state.happiness + gains.happiness),
  };
  effects.push(
    {
      type: "interaction",
      kind,
      xp: Math.floor(gains.xp),
      fullness: gains.fullness,
      happiness: gains.happiness,
      at: now,
    },
    { type: "signal", signal, at: now },
  );
  if (grown.leveled > 0) {
    effects.push(
      {
        type: "event",
        event_type: "pet.leveled_up",
        data: { pet_id: state.pet_id, level: grown.level, previous_level: state.level },
        at: now,
      },
      { type: "signal", signal: "leveled_up", at: now },
    );
  }
  if (next.auto_evolve && stageForLevel(next.level) > next.stage) {
    const evolved = evolve(next, now);
    next = evolved.state;
    effects.push(...evolved.effects);
  }
  // Care lifts the flag once both stats are back over the line; a new episode can then say so again.
  if (next.needs_attention && !needsAttention(next)) next = { ...next, needs_attention: false };
  return { state: next, effects };
}

function evolve(state: PetState, now: number): { state: PetState; effects: PetEffect[] } {
  const stage = stageForLevel(state.level);
  return {
    state: { ...state, stage },
    effects: [
      {
        type: "event",
        event_type: "pet.evolved",
        data: {
          pet_id: state.pet_id,
          stage,
          previous_stage: state.stage,
          level: state.level,
          species: state.species,
        },
        at: now,
      },
      { type: "signal", signal: "evolved", at: now },
      { type: "interaction", kind: "evolve", xp: 0, fullness: 0, happiness: 0, at: now },
    ],
  };
}

/** What completed work gives the pet on its own: treats (the XP earned) and a little care. */
export const NOURISHMENT = {
  step: { fullness: 4, happiness: 2 },
  task: { fullness: 10, happiness: 5 },
  focus: { fullness: 8, happiness: 4 },
} as const;

/** How much a feed of `xp` treats fills and cheers: a snack for a little, a meal for a lot. */
export function feedGains(xp: number) {
  return {
    fullness: Math.min(40, 10 + Math.floor(xp / 5)),
    happiness: Math.min(20, 5 + Math.floor(xp / 10)),
  };
}

export const PLAY_GAINS = { xp: 2, fullness: -3, happiness: 15 };
export const PET_GAINS = { xp: 1, fullness: 0, happiness: 5 };

const conflict = (code: string, detail: string, retryAfterMs?: number): PetStep["error"] => ({
  status: 409,
  code,
  detail,
  ...(retryAfterMs !== undefined ? { retry_after_seconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) } : {}),
});

/** Brings stats to `now`, raises the attention flag if it is due, then applies the action (if any). */
export function stepPet(state: PetState, action: PetAction | null, now: number): PetStep {
  let current = settleStats(state, now);
  const effects: PetEffect[] = [];
  if (!current.needs_attention && needsAttention(current)) {
    current = { ...current, needs_attention: true };
    effects.push(
      {
        type: "event",
        event_type: "pet.needs_attention",
        data: { pet_id: current.pet_id, fullness: current.fullness, happiness: current.happiness },
        at: now,
      },
      { type: "signal", signal: "needs_attention", at: now },
    );
  }
  if (!action) return { state: current, effects, error: null };
  const refuse = (error: PetError | null) => ({ state: current, effects, error });
  switch (action.type) {
    case "feed": {
      if (!Number.isInteger(action.xp) || action.xp < 1 || action.xp > MAX_FEED_XP) {
        return refuse({
          status: 422,
          code: "validation_failed",
          detail: `xp_amount: Feed 1–${MAX_FEED_XP} XP.`,
          field: "xp_amount",
        });
      }
      if (action.xp > current.treats) {
        return refuse(
          conflict(
            "not_enough_treats",
            `Your pet has ${current.treats} XP of treats from your work; finish a step to earn more.`,
          ),
        );
      }
      const grown = grow(
        { ...current, treats: current.treats - action.xp, last_fed_at: now },
        now,
        "feed",
        { xp: action.xp, ...feedGains(action.xp) },
        "fed",
      );
      let next = grown.state;
      const fedEffects = [...grown.effects];
      if (now >= current.fed_event_ready_at) {
        next = { ...next, fed_event_ready_at: now + FED_EVENT_EVERY_MINUTES * MINUTE };
        fedEffects.push({
          type: "event",
          event_type: "pet.fed",
          data: { pet_id: current.pet_id, xp: action.xp },
          at: now,
        });
      }
      return { state: next, effects: [...effects, ...fedEffects], error: null };
    }
    case "play": {
      if (now < current.play_ready_at) {
        return refuse(
          conflict(
            "cooldown",
            "Your pet is catching its breath; play again soon.",
            current.play_ready_at - now,
          ),
        );
      }
      const grown = grow(current, now, "play", PLAY_GAINS, "played");
      const cooldown = perksAt(current.level).playCooldownMinutes * MINUTE;
      return {
        state: { ...grown.state, play_ready_at: now + cooldown },
        effects: [...effects, ...grown.effects],
        error: null,
      };
    }
    case "pet": {
      if (now < current.pet_ready_at) {
        return refuse(
          conflict("cooldown", "Your pet loved that; give it a moment.", current.pet_ready_at - now),
        );
      }
      const grown = grow(current, now, "pet", PET_GAINS, "petted");
      return {
        state: { ...grown.state, pet_ready_at: now + PET_COOLDOWN_MINUTES * MINUTE },
        effects: [...effects, ...grown.effects],
        error: null,
      };
    }
    case "nourish": {
      const gains = NOURISHMENT[action.kind];
      const xp = Math.max(0, Math.floor(action.xp));
      const grown = grow(
        { ...current, treats: current.treats + xp },
        now,
        `nourish:${action.kind}`,
        { xp: 0, ...gains },
        "nourished",
      );
      return { state: grown.state, effects: [...effects, ...grown.effects], error: null };
    }
    case "evolve": {
      if (stageForLevel(current.level) <= current.stage) {
        return refuse(
          conflict("cannot_evolve", "Your pet cannot evolve yet: teen at level 5, adult at level 10."),
        );
      }
      const evolved = evolve(current, now);
      return { state: evolved.state, effects: [...effects, ...evolved.effects], error: null };
    }
    case "rename":
      return {
        state: { ...current, name: action.name },
        effects: [...effects, { type: "signal", signal: "changed", at: now }],
        error: null,
      };
    case "set_auto_evolve":
      return {
        state: { ...current, auto_evolve: action.auto_evolve },
        effects: [...effects, { type: "signal", signal: "changed", at: now }],
        error: null,
      };
    case "set_personality":
      return {
        state: { ...current, personality: action.personality },
        effects: [...effects, { type: "signal", signal: "changed", at: now }],
        error: null,
      };
    case "set_timezone":
      return { state: { ...current, timezone: action.timezone }, effects, error: null };
  }
}

export interface PetView {
  pet_id: string;
  species: PetSpecies;
  name: string;
  level: number;
  xp: number;
  total_xp: number;
  /** XP still needed for the next level (null at the top). */
  xp_to_next_level: number | null;
  /** XP this level needs in all: 50 × level². */
  xp_for_level: number | null;
  /** Fullness: 100 = full (the seed's field name). */
  hunger: number;
  happiness: number;
  evolution_stage: Stage;
  can_evolve: boolean;
  auto_evolve: boolean;
  needs_attention: boolean;
  mood: Mood;
  treats: number;
  play_ready_at: string | null;
  pet_ready_at: string | null;
  personality: Personality | null;
  created_at: string;
  /** The owner's id and the last feed, as the original API answered them. */
  user_id: string;
  last_fed_at: string | null;
}

/** What clients see: stats derived at `now`. */
export function toPetView(state: PetState, now: number): PetView {
  const { fullness, happiness } = statsAt(state, now);
  const iso = (ms: number) => (ms > now ? new Date(ms).toISOString() : null);
  const need = xpToNextLevel(state.level);
  return {
    pet_id: state.pet_id,
    species: state.species,
    name: state.name,
    level: state.level,
    xp: state.xp,
    total_xp: state.total_xp,
    xp_to_next_level: need === null ? null : need - state.xp,
    xp_for_level: need,
    hunger: Math.round(fullness * 10) / 10,
    happiness: Math.round(happiness * 10) / 10,
    evolution_stage: state.stage,
    can_evolve: stageForLevel(state.level) > state.stage,
    auto_evolve: state.auto_evolve,
    needs_attention: state.needs_attention || needsAttention({ fullness, happiness }),
    mood: moodOf(state, now),
    treats: state.treats,
    play_ready_at: iso(state.play_ready_at),
    pet_ready_at: iso(state.pet_ready_at),
    personality: state.personality,
    created_at: new Date(state.created_at).toISOString(),
    user_id: state.user_id,
    last_fed_at: state.last_fed_at == null ? null : new Date(state.last_fed_at).toISOString(),
  };
}
