import { ApiError, validationFailed } from "./errors";

/**
 * A live object's (Durable Object's) refusal: an expected failure sent back across RPC as a value,
 * since a thrown error would lose its status and fields on the way.
 */
export interface LiveRefusal {
  status: 404 | 409 | 422 | 503;
  code: string;
  detail: string;
  /** The request field a 422 is about; the detail then starts with it ("xp_amount: …"). */
  field?: string;
  /** When trying again makes sense (a cooldown), sent to the client as Retry-After. */
  retry_after_seconds?: number;
}

/** The refusal as the API's problem response, in the same shape as the Worker's own failures. */
export function refusalError(refusal: LiveRefusal): ApiError {
  if (refusal.status === 422 && refusal.field) {
    const message = refusal.detail.replace(`${refusal.field}: `, "").replace(/\.$/, "");
    return validationFailed([{ field: refusal.field, message }], refusal.detail);
  }
  const headers =
    refusal.retry_after_seconds !== undefined
      ? { "Retry-After": String(refusal.retry_after_seconds) }
      : undefined;
  return new ApiError(refusal.status, refusal.code, refusal.detail, headers ? { headers } : {});
}

/**
 * What the live object did; its refusal is thrown as the API error it stands for. Each object refuses
 * with its own kinds of refusal, all of them a LiveRefusal.
 */
export function accepted<T extends { ok: true }, R extends LiveRefusal>(
  answer: T | { ok: false; error: R },
): T {
  if (answer.ok) return answer;
  throw refusalError(answer.error);
}
