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
    "Events: started, paused, resumed, interrupted, extended, work_over, finished, abandoned, break_over, break_skipped. " +
    'New inbox notifications also arrive here at once, unnumbered: `{"type":"notification","notification":{…}}` ' +
    "(the shape GET /api/v1/notifications lists; dedupe by `notification_id`, and read the inbox after a reconnect).",
  objectFor: focusTimer,
});
