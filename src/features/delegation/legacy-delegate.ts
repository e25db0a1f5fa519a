import { validationFailed } from "../../lib/errors";
import { minutesFromHours } from "../compat/units";
import type { DelegateInput } from "./delegate-service";
import type { DelegateBody } from "./schemas";

/**
 * What a delegate request asks for. Ours names a `delegation_mode`; the original API's names an
 * `assignee_id`: one of the caller's agents (assignee_type agent, its default), or the person — who is
 * always the caller, whatever the id says, since nobody can hand work to another account.
 */
export function delegateInputOf(body: DelegateBody): { legacy: boolean; input: DelegateInput } {
  const { task_id } = body;
  if (body.assignee_id === undefined) {
    // The schema refuses a body with neither field; this keeps the types honest.
    if (body.delegation_mode === undefined)
      throw validationFailed([{ field: "delegation_mode", message: "Send delegation_mode or assignee_id" }]);
    const { delegation_mode, prefer_agent_type, required_capabilities } = body;
    return { legacy: false, input: { task_id, delegation_mode, prefer_agent_type, required_capabilities } };
  }
  const estimated_minutes =
    body.estimated_hours === undefined ? undefined : minutesFromHours(body.estimated_hours);
  if (body.assignee_type === "human") {
    return {
      legacy: true,
      input: { task_id, delegation_mode: "DO", estimated_minutes, person_starts_pending: true },
    };
  }
  return {
    legacy: true,
    input: { task_id, delegation_mode: "DELEGATE", agent_id: body.assignee_id, estimated_minutes },
  };
}
