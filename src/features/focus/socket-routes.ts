import { liveSocketRouter } from "../../lib/live-socket-routes";
import { FOCUS_SUBPROTOCOL } from "./protocol";
import { focusTimer } from "./service";

/** The focus channel: `POST /api/v1/focus/ws-ticket`, `GET /api/v1/focus/ws`. */
export const focusSocketRouter = liveSocketRouter({
  name: "focus",
  basePath: "/api/v1/focus",
  tag: "Focus",
  subprotocol: FOCUS_SUBPROTOCOL,
  readScope: "focus:read",
  writeScope: "focus:write",
  description:
    "Events: started, paused, resumed, interrupted, extended, work_over, finished, abandoned, break_over, break_skipped.",
  objectFor: focusTimer,
});
