/** The focus channel of the live WebSocket protocol (src/lib/live-socket.ts). */
import type { ServerMessage } from "../../lib/live-socket";
import { clientMessageSchema } from "../../lib/live-socket";
import { COMMAND_TYPES } from "./commands";
import type { FocusSignal } from "./machine";
import type { FocusStateDto } from "./schemas";

/** The subprotocol clients offer (with `bearer.<token>` to authenticate without a ticket). */
export const FOCUS_SUBPROTOCOL = "pap.focus.v1";

export type FocusServerMessage = ServerMessage<FocusStateDto, FocusSignal>;

export const FocusClientMessageSchema = clientMessageSchema(COMMAND_TYPES);
