import { liveSocketRouter } from "../../lib/live-socket-routes";
import { PET_SUBPROTOCOL } from "./protocol";
import { petState } from "./service";

/** The pet channel: `POST /api/v1/pets/ws-ticket`, `GET /api/v1/pets/ws`. */
export const petSocketRouter = liveSocketRouter({
  name: "pets",
  basePath: "/api/v1/pets",
  tag: "Pets",
  subprotocol: PET_SUBPROTOCOL,
  readScope: "pets:read",
  writeScope: "pets:write",
  description:
    "Events: fed, played, petted, nourished (your work fed it), leveled_up, evolved, needs_attention, changed. " +
    "Actions: feed (with `xp_amount`), play, pet, evolve. 404 until you have a pet (a ticket is not used up by it).",
  notFound: "You have no pet yet (the ticket is not used up)",
  objectFor: petState,
});
