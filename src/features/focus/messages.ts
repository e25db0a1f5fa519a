/** The subprotocol clients offer (with `bearer.<token>` to authenticate without a ticket). */
export const FOCUS_SUBPROTOCOL = "pap.focus.v1";
