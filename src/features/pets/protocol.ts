/**
 * The pet channel of the live WebSocket protocol (src/lib/live-socket.ts), what the PetState object
 * answers, and the D1 statements the object runs.
 */
import type { z } from "@hono/zod-openapi";
import { type PetError, type PetState, toPetView } from "./care";
import type { PetOutcomeSchema, PetSchema } from "./schemas";

/** The subprotocol clients offer (with `bearer.<token>` to authenticate without a ticket). */
export const PET_SUBPROTOCOL = "pap.pet.v1";
/** What a socket may ask of the pet (feed carries `xp_amount`). */
export const PET_SOCKET_ACTIONS = ["feed", "play", "pet", "evolve"] as const;
export type PetSocketAction = (typeof PET_SOCKET_ACTIONS)[number];

/** Work done, as the events queue reports it: once per source, however often it is reported. */
export interface Nourishment {
  source_key: string;
  kind: "step" | "task" | "focus";
  xp: number;
  /** When the work was done (ms): work older than the pet's memory of sources feeds nothing. */
  occurred_at: number;
}

export type PetDto = z.infer<typeof PetSchema>;
export type PetOutcome = z.infer<typeof PetOutcomeSchema>;

/** The pet's seed: its picture and local personality come from it, so they never change. */
export const petSeed = (userId: string, petId: string) => `${userId}:${petId}`;

export const petImagePath = (petId: string) => `/api/v1/pets/${encodeURIComponent(petId)}/image.svg`;

export function petDto(state: PetState, now: number, seq: number): PetDto {
  return { seq, ...toPetView(state, now), image_url: petImagePath(state.pet_id) };
}

/** 401: the account is gone (its pet was erased, and the object refuses everything). */
export type PetFailure = PetError | { status: 401 | 404 | 503; code: string; detail: string };

export type PetResult<T> = { ok: true; value: T; replayed: boolean } | { ok: false; error: PetFailure };

export const NO_PET: PetFailure = {
  status: 404,
  code: "not_found",
  detail: "You have no pet yet: adopt one with POST /api/v1/pets.",
};

// The object checks a feed's body, restores itself from the pet's D1 row and keeps that row and the
// interactions log up to date: the feature owns that schema and those statements, and publishes here
// the ones its object uses.
export { type InteractionWrite, persistStatements, storedPetOf } from "./queries";
export { FeedBodySchema } from "./schemas";
