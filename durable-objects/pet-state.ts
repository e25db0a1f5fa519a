import { createDatabase } from "../src/db";
import type { Personality } from "../src/db/schema/pets";
import type { Env } from "../src/env";
import type { PetSnapshot } from "../src/features/export/format";
import {
  dryRun,
  type LiveResult,
  parsePetSnapshot,
  petSnapshot,
  type RestoreOptions,
  restoredPet,
  restoredPetId,
} from "../src/features/export/live";
import {
  nextAttentionAt,
  type PetAction,
  type PetState as PetData,
  type PetStep,
  stepPet,
} from "../src/features/pets/care";
import type { PetSpecies } from "../src/features/pets/growth";
import {
  FeedBodySchema,
  type InteractionWrite,
  NO_PET,
  type Nourishment,
  PET_SOCKET_ACTIONS,
  PET_SUBPROTOCOL,
  type PetDto,
  type PetFailure,
  type PetOutcome,
  type PetResult,
  type PetSocketAction,
  persistStatements,
  petDto,
  petSeed,
  storedPetOf,
} from "../src/features/pets/protocol";
import { loggableError } from "../src/lib/db-errors";
import { validationFailed } from "../src/lib/errors";
import { type IdempotencyContext, socketIdempotency } from "../src/lib/idempotency";
import { newId } from "../src/lib/ids";
import { ACCOUNT_GONE } from "../src/lib/live-refusal";
import { nowIso } from "../src/lib/time";
import { zodIssuesToFieldErrors } from "../src/lib/validation";
import { bodiesOf, eventRow, LiveObject, stateMessage } from "./live-object";
import { type Commit, SEEN_TTL_MS } from "./live-storage";
import { problem } from "./socket-hub";

/** A new pet starts comfortable: fed and happy enough to enjoy, room to be cared for. */
const NEW_PET_STATS = { fullness: 80, happiness: 80 };

export interface AdoptInput {
  pet_id: string;
  user_id: string;
  species: PetSpecies;
  name: string;
  timezone: string;
  personality: Personality | null;
}

export type PetPatch = { name?: string | undefined; auto_evolve?: boolean | undefined };

const UNAVAILABLE: PetFailure = {
  status: 503,
  code: "unavailable",
  detail: "The pet service is unavailable; try again.",
};

/** Whether D1 has been asked for a pet this object does not hold (D1 only ever gets pets from here). */
const LOOKED_UP = "looked_up";

/**
 * One per user (`idFromName(userId)`): the user's pet, alive. Its state lives in the object's SQLite;
 * fullness and happiness are derived from timestamps on every read, so nothing ticks; the one alarm
 * wakes it when a stat will cross the attention line (or to retry a D1 write). Every change is
 * broadcast to the user's sockets with a sequence number, and D1 gets the pet row (a snapshot),
 * the interactions log and the domain events through the object's outbox.
 */
export class PetState extends LiveObject<PetData> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, {
      name: "pet",
      subprotocol: PET_SUBPROTOCOL,
      actions: PET_SOCKET_ACTIONS,
      writeScope: "pets:write",
      nextDueAt: nextAttentionAt,
      persist: (db, rows) =>
        persistStatements(db, {
          snapshots: bodiesOf<PetData>(rows, "pet"),
          interactions: bodiesOf<InteractionWrite>(rows, "interaction"),
        }),
    });
  }

  /** Adopts the user's one pet; 409 when there is one already. */
  async adopt(input: AdoptInput): Promise<PetResult<PetDto>> {
    const existing = await this.held(input.user_id);
    if (existing === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (existing === "unavailable") return { ok: false, error: UNAVAILABLE };
    if (existing) {
      return {
        ok: false,
        error: {
          status: 409,
          code: "pet_exists",
          detail: `You already have a pet, ${existing.name}: one companion per person.`,
        },
      };
    }
    const now = Date.now();
    const state: PetData = {
      pet_id: input.pet_id,
      user_id: input.user_id,
      species: input.species,
      name: input.name,
      seed: petSeed(input.user_id, input.pet_id),
      timezone: input.timezone,
      level: 1,
      xp: 0,
      total_xp: 0,
      stage: 1,
      auto_evolve: true,
      ...NEW_PET_STATS,
      stats_at: now,
      treats: 0,
      needs_attention: false,
      play_ready_at: 0,
      pet_ready_at: 0,
      fed_event_ready_at: 0,
      personality: input.personality,
      created_at: now,
    };
    const seq = this.apply(
      {
        state,
        effects: [
          { type: "signal", signal: "changed", at: now },
          { type: "interaction", kind: "adopt", xp: 0, fullness: 0, happiness: 0, at: now },
        ],
        error: null,
      },
      now,
    );
    // The row must be in D1 before the answer: the picture and history routes read it.
    await this.writer.settle(true);
    return { ok: true, value: petDto(state, now, seq), replayed: false };
  }

  /** The pet now (stats derived at this moment); 404 without one. */
  async view(userId: string): Promise<PetResult<PetDto>> {
    const state = await this.held(userId);
    if (state === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (state === "unavailable") return { ok: false, error: UNAVAILABLE };
    if (!state) return { ok: false, error: NO_PET };
    const now = Date.now();
    const result = stepPet(state, null, now);
    const seq = this.apply(result, now);
    await this.writer.settle(false);
    return { ok: true, value: petDto(result.state, now, seq), replayed: false };
  }

  /** Feed, play, pet or evolve; the answer says whether it leveled up or evolved. */
  async act(
    userId: string,
    action: Extract<PetAction, { type: PetSocketAction }>,
    idempotency?: IdempotencyContext,
  ): Promise<PetResult<PetOutcome>> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    const stored = this.replay(idempotency);
    if (stored) return stored;
    const state = await this.held(userId);
    if (state === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (state === "unavailable") return { ok: false, error: UNAVAILABLE };
    if (!state) return { ok: false, error: NO_PET };
    // Looking the pet up in D1 let other requests in: one may have answered this key meanwhile.
    const raced = this.replay(idempotency);
    if (raced) return raced;
    const now = Date.now();
    const result = stepPet(state, action, now);
    if (result.error) {
      this.apply(result, now);
      await this.writer.settle(false);
      return { ok: false, error: result.error };
    }
    const outcome = (seq: number): PetOutcome => {
      const pet = petDto(result.state, now, seq);
      const happened = (type: string) =>
        result.effects.some((e) => e.type === "event" && e.event_type === type);
      return {
        pet,
        leveled_up: happened("pet.leveled_up"),
        evolved: happened("pet.evolved"),
        xp_to_next_level: pet.xp_to_next_level,
      };
    };
    const answer = idempotency && {
      key: idempotency.key,
      request_hash: idempotency.requestHash,
      status: 200,
      body: (seq: number) => JSON.stringify(outcome(seq)),
    };
    const seq = this.apply(result, now, answer ? { answer } : {});
    // The change is durable here; D1's copy follows right after the answer (readers of D1's history
    // call `flushed` first, and a failed write is retried by the alarm).
    await this.writer.settle(false);
    return { ok: true, value: outcome(seq), replayed: false };
  }

  /** Renames the pet or switches automatic evolution. */
  async update(userId: string, patch: PetPatch): Promise<PetResult<PetDto>> {
    const actions: PetAction[] = [];
    if (patch.name !== undefined) actions.push({ type: "rename", name: patch.name });
    if (patch.auto_evolve !== undefined)
      actions.push({ type: "set_auto_evolve", auto_evolve: patch.auto_evolve });
    return this.change(userId, actions);
  }

  async setPersonality(userId: string, personality: Personality): Promise<PetResult<PetDto>> {
    return this.change(userId, [{ type: "set_personality", personality }]);
  }

  /** The user moved time zones: nights fall at their new local hours. No pet, nothing to do. */
  async setTimezone(userId: string, timezone: string): Promise<void> {
    if (this.accountGone || !this.store.state()) return;
    await this.change(userId, [{ type: "set_timezone", timezone }]);
  }

  /**
   * Finished work feeds the pet: treats (the XP it earned) and a little fullness and happiness. Each
   * source counts once, however often the queue delivers it. False when the user has no pet.
   */
  async nourish(userId: string, work: Nourishment): Promise<boolean> {
    // Sources are remembered for SEEN_TTL_MS from the feed, which is never before the work was done:
    // work older than that may have been fed and forgotten, so it feeds nothing (the XP ledger keeps its
    // keys forever; refusing old work is how the pet agrees with it).
    if (work.occurred_at < Date.now() - SEEN_TTL_MS) return true;
    // The account is gone: nothing to feed, and nothing to try again.
    if (this.accountGone) return true;
    const seenKey = `nourish:${work.source_key}`;
    if (this.store.hasSeen(seenKey)) return true;
    const state = await this.held(userId);
    if (state === "gone") return true;
    if (state === "unavailable") throw new Error("pet lookup failed");
    if (!state) return false;
    if (this.store.hasSeen(seenKey)) return true;
    const now = Date.now();
    const result = stepPet(state, { type: "nourish", kind: work.kind, xp: work.xp }, now);
    this.apply(result, now, { seen: [seenKey] });
    await this.writer.settle(true);
    return true;
  }

  /**
   * The pet as this object holds it (stats as of `stats_at`, nothing derived), or null without one, for
   * an account export; pending D1 writes are made first, so D1's pet row and history agree with it.
   */
  async snapshot(userId: string): Promise<LiveResult<PetSnapshot>> {
    const state = await this.held(userId);
    if (state === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (state === "unavailable") return { ok: false, error: UNAVAILABLE };
    try {
      await this.writer.flush();
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", message: "pet snapshot flush failed", error: loggableError(error) }),
      );
      return { ok: false, error: UNAVAILABLE };
    }
    return { ok: true, value: petSnapshot(state ?? null) };
  }

  /**
   * Puts an exported pet in place for this user (a restore): its care, growth, cooldowns and
   * personality, with its own seed (the same picture). Growth is made consistent with the rules (the
   * level follows from the total XP; live.ts restoredPet) and times are no later than now. One pet per
   * person: if the user has one, the restored pet takes its place and its id (so D1 keeps one row);
   * else it gets the mapped id, or one derived from the old (the same each time). A snapshot without a
   * pet changes nothing — pets are never taken away. The restored pet is run through the rules (a step,
   * the view, the alarm's moment) before anything is stored: a pet that would break the object is
   * refused (422), as is a snapshot that is not valid or newer than this server. The one alarm is
   * armed for the restored pet's next moment.
   */
  async restoreSnapshot(
    userId: string,
    input: unknown,
    options: RestoreOptions = {},
  ): Promise<LiveResult<PetDto | null>> {
    const parsed = parsePetSnapshot(input);
    if (!parsed.ok) return parsed;
    const held = await this.held(userId);
    if (held === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (held === "unavailable") return { ok: false, error: UNAVAILABLE };
    const exported = parsed.value.pet;
    const now = Date.now();
    if (!exported) return { ok: true, value: held ? petDto(held, now, this.store.seq()) : null };
    let existing = held?.pet_id;
    try {
      // D1 may hold a pet row this object never saw (written by a restore of the tables): take its id.
      existing ??= (await storedPetOf(createDatabase(this.env.DB), userId))?.pet_id;
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", message: "pet lookup failed", error: loggableError(error) }),
      );
      return { ok: false, error: UNAVAILABLE };
    }
    const petId = await restoredPetId(exported, userId, existing, options);
    const at = Date.now();
    const state = restoredPet(exported, userId, petId, at);
    const checked = dryRun("pet", () => {
      const result = stepPet(state, null, at);
      petDto(result.state, at, 0);
      nextAttentionAt(result.state);
      nextAttentionAt(state);
      JSON.stringify(result.state);
    });
    if (!checked.ok) return checked;
    const seq = this.apply({ state, effects: [{ type: "signal", signal: "changed", at }], error: null }, at, {
      force: true,
    });
    this.store.commit({ meta: { [LOOKED_UP]: true }, messages: [], outbox: [] }, at);
    await this.writer.settle(true);
    return { ok: true, value: petDto(state, at, seq) };
  }

  /** Resolves once every change so far is in D1: history readers ask this first, to read their own writes. */
  async flushed(): Promise<void> {
    if (this.accountGone) return;
    await this.writer.flush();
  }

  override async alarm(): Promise<void> {
    if (this.accountGone) return;
    const state = this.store.state();
    if (state) {
      const now = Date.now();
      this.apply(stepPet(state, null, now), now);
    }
    await this.writer.settle(true);
  }

  /** The WebSocket upgrade; the Worker has authenticated the user before forwarding it here. */
  override async fetch(request: Request): Promise<Response> {
    const now = Date.now();
    const grant = this.sockets.grantOf(request);
    if (grant instanceof Response) return grant;
    const state = await this.held(grant.user_id);
    if (state === "gone" || state === "unavailable" || !state) {
      const error = state === "gone" ? ACCOUNT_GONE : state ? UNAVAILABLE : NO_PET;
      return problem(error.status, error.code, error.detail);
    }
    const result = stepPet(state, null, now);
    const seq = this.apply(result, now);
    const response = this.sockets.open(request, grant, seq, petDto(result.state, now, seq), now);
    await this.writer.settle(false);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const message = await this.sockets.read(ws, raw, Date.now());
    if (!message) return;
    const action = message.action as PetSocketAction;
    let command: Extract<PetAction, { type: PetSocketAction }>;
    if (action === "feed") {
      const body = FeedBodySchema.safeParse(message.params);
      if (!body.success) {
        return this.sockets.reply(ws, {
          type: "error",
          request_id: message.requestId,
          status: 422,
          code: "validation_failed",
          detail: validationFailed(zodIssuesToFieldErrors(body.error.issues)).message,
        });
      }
      command = { type: "feed", xp: body.data.xp_amount };
    } else {
      command = { type: action };
    }
    const idempotency = await socketIdempotency(message.requestId, command);
    const result = await this.act(message.grant.user_id, command, idempotency);
    if (result.ok)
      return this.sockets.reply(ws, {
        type: "ack",
        request_id: message.requestId,
        seq: result.value.pet.seq,
      });
    const { status, code, detail } = result.error;
    this.sockets.reply(ws, { type: "error", request_id: message.requestId, status, code, detail });
  }

  /**
   * The pet this object holds; the first time, D1's record (an object that lost its storage, or one
   * created before the pet moved in) — asked once: a pet only ever reaches D1 from here.
   */
  private async held(userId: string): Promise<PetData | undefined | "unavailable" | "gone"> {
    if (this.accountGone) return "gone";
    const held = this.store.state();
    if (held || this.store.json<boolean>(LOOKED_UP)) return held;
    let stored: PetData | undefined;
    try {
      stored = await storedPetOf(createDatabase(this.env.DB), userId);
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", message: "pet lookup failed", error: loggableError(error) }),
      );
      return "unavailable";
    }
    // Another request may have adopted or restored the pet while D1 answered, or erased the object.
    if (this.accountGone) return "gone";
    const now = this.store.state();
    if (now) return now;
    this.store.commit(
      { meta: { [LOOKED_UP]: true }, messages: [], outbox: [], ...(stored ? { state: stored } : {}) },
      Date.now(),
    );
    // The pet found in D1 has moments of its own (attention due): the one alarm waits for them, whatever
    // the caller goes on to do (an export's snapshot arms nothing itself).
    if (stored) await this.writer.armAlarm();
    return stored;
  }

  /** Several changes (rename, auto-evolve, personality, time zone) in one commit. */
  private async change(userId: string, actions: PetAction[]): Promise<PetResult<PetDto>> {
    const held = await this.held(userId);
    if (held === "gone") return { ok: false, error: ACCOUNT_GONE };
    if (held === "unavailable") return { ok: false, error: UNAVAILABLE };
    if (!held) return { ok: false, error: NO_PET };
    const now = Date.now();
    let result: PetStep = stepPet(held, null, now);
    for (const action of actions) {
      const next = stepPet(result.state, action, now);
      result = { state: next.state, effects: [...result.effects, ...next.effects], error: next.error };
    }
    // Stored even when nothing shows (a new time zone): the change must last.
    const seq = this.apply(result, now, { force: true });
    await this.writer.settle(true);
    return { ok: true, value: petDto(result.state, now, seq), replayed: false };
  }

  private replay(idempotency: IdempotencyContext | undefined): PetResult<PetOutcome> | undefined {
    const stored = this.storedAnswer<PetOutcome>(idempotency);
    if (!stored?.ok) return stored;
    return { ok: true, value: stored.value, replayed: true };
  }

  /**
   * Stores a step's result in one transaction — state, numbered messages, the D1 writes it needs (the
   * pet row, interactions, events) — then sends the messages to every socket. Returns the seq after it.
   */
  private apply(
    result: PetStep,
    now: number,
    options: { answer?: Commit<PetData>["answer"]; seen?: string[]; force?: boolean } = {},
  ): number {
    const { answer, seen, force = false } = options;
    if (result.effects.length === 0 && !answer && !seen && !force) return this.store.seq();
    const state = result.state;
    const change: Commit<PetData> = { state, messages: [], outbox: [] };
    if (answer) change.answer = answer;
    if (seen) change.seen = seen;
    for (const effect of result.effects) {
      if (effect.type === "signal") {
        change.messages.push(stateMessage(effect.signal, effect.at, (seq) => petDto(state, now, seq)));
      } else if (effect.type === "interaction") {
        const write: InteractionWrite = {
          id: newId(effect.at),
          pet_id: state.pet_id,
          user_id: state.user_id,
          kind: effect.kind,
          xp: effect.xp,
          hunger_delta: effect.fullness,
          happiness_delta: effect.happiness,
          at: nowIso(effect.at),
        };
        change.outbox.push({
          id: `interaction:${write.id}`,
          kind: "interaction",
          body: JSON.stringify(write),
        });
      } else {
        change.outbox.push(eventRow(effect.event_type, state.user_id, effect.data, effect.at));
      }
    }
    // The D1 row follows every stored change (a snapshot; only the latest pending one is written).
    change.outbox.push({ id: `pet:${newId(now)}`, kind: "pet", body: JSON.stringify(state) });
    const { messages } = this.store.commit(change, now);
    this.sockets.broadcast(messages, now);
    return this.store.seq();
  }
}
