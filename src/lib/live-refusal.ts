import { ApiError, unauthorized, validationFailed } from "./errors";

/**
 * A live object's (Durable Object's) refusal: an expected failure sent back across RPC as a value,
 * since a thrown error would lose its status and fields on the way.
 */
export interface LiveRefusal {
  status: 401 | 404 | 409 | 422 | 503;
  code: string;
  detail: string;
  /** The request field a 422 is about; the detail then starts with it ("xp_amount: …"). */
  field?: string;
  /** When trying again makes sense (a cooldown), sent to the client as Retry-After. */
  retry_after_seconds?: number;
}

/**
 * An erased object's answer to everything: its account is gone (deleted, or being deleted). The
 * Worker answers it 401, like any token whose account is gone.
 */
export const ACCOUNT_GONE = {
  status: 401,
  code: "unauthorized",
  detail: "The account behind this token no longer exists.",
} as const satisfies LiveRefusal;

/** The refusal as the API's problem response, in the same shape as the Worker's own failures. */
export function refusalError(refusal: LiveRefusal): ApiError {
  if (refusal.status === 401) return unauthorized(refusal.detail);
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
