import { env } from "cloudflare:workers";
import type { PetDto, PetOutcome } from "../../src/features/pets/protocol";
import type { InteractionDto } from "../../src/features/pets/schemas";
import { callJson, createUser, type TestUser } from "./api";
import { actingThroughApiToken } from "./auth";

export type Pet = PetDto;
export type { PetOutcome };

export function adoptPet(user: TestUser, body: { species?: string; name?: string } = {}): Promise<Pet> {
  return callJson<Pet>("/api/v1/pets", 201, {
    token: user.token,
    body: { species: body.species ?? "fox", name: body.name ?? "Sorrel" },
  });
}

export function petOf(user: TestUser): Promise<Pet> {
  return callJson<Pet>("/api/v1/pets/me", 200, { token: user.token });
}

/** The first page of the pet's interactions, newest first. */
export function interactionsOf(user: TestUser): Promise<InteractionDto[]> {
  return callJson<InteractionDto[]>("/api/v1/pets/me/interactions", 200, { token: user.token });
}

/** One care action (feed, play, pet) on the user's pet, expecting 200. */
export function careFor(
  user: TestUser,
  action: "feed" | "play" | "pet",
  body?: unknown,
): Promise<PetOutcome> {
  return callJson<PetOutcome>(`/api/v1/pets/me/${action}`, 200, { method: "POST", token: user.token, body });
}

export const PET_CHANNEL = { path: "/api/v1/pets/ws", subprotocol: "pap.pet.v1" };

/** The user's PetState object. */
export function petObject(user: TestUser) {
  return env.PET_STATE.get(env.PET_STATE.idFromName(user.id));
}

/** Gives the pet treats as finished work would (the events queue's own call), under a unique source. */
export async function giveTreats(user: TestUser, xp: number, kind: "step" | "task" | "focus" = "task") {
  await petObject(user).nourish(user.id, {
    source_key: `${kind}:${crypto.randomUUID()}`,
    kind,
    xp,
    occurred_at: Date.now(),
  });
}

/** A user acting through a non-expiring API token (tests may move the clock past a JWT's life). */
export async function petUser(timezone = "UTC"): Promise<TestUser> {
  const user = await createUser({ timezone });
  return actingThroughApiToken(user, "pet tests", ["pets:read", "pets:write", "tasks:read", "tasks:write"]);
}
