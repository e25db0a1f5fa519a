/**
 * Asking Workers AI for structured JSON: a JSON-schema response format, one deadline, one retry after an
 * error or an answer that does not validate (within what is left of the deadline; none after a timeout),
 * and the caller's own check of the answer. `undefined` means "use your local path".
 */

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface JsonRequest<T> {
  model: string;
  messages: ChatMessage[];
  jsonSchema: Record<string, unknown>;
  timeoutMs: number;
  /** Turns the parsed answer into a value, or rejects it with `undefined`. */
  accept: (value: unknown) => T | undefined;
  maxTokens?: number;
}

class AiTimeout extends Error {}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new AiTimeout(`no answer within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A model answer as a value: unwraps `{ response }`, and parses JSON text (also inside a code fence). */
export function parseJsonAnswer(answer: unknown): unknown {
  let value: unknown = answer;
  if (typeof value === "object" && value !== null && "response" in value)
    value = (value as { response: unknown }).response;
  if (typeof value !== "string") return value;
  const text = value
    .trim()
    .replace(/^```(?:json)?\s*/i, "")
    .replace(/```$/, "");
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function askForJson<T>(ai: Ai | undefined, request: JsonRequest<T>): Promise<T | undefined> {
  if (!ai) return undefined;
  // One deadline for both attempts: a retry only gets the time the first one left.
  const deadline = Date.now() + request.timeoutMs;
  for (let attempt = 0; attempt < 2; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    try {
      const answer = await withTimeout(
        ai.run(
          request.model as Parameters<Ai["run"]>[0],
          {
            messages: request.messages,
            response_format: { type: "json_schema", json_schema: request.jsonSchema },
            ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
          } as never,
        ),
        remaining,
      );
      const accepted = request.accept(parseJsonAnswer(answer));
      if (accepted !== undefined) return accepted;
    } catch (error) {
      if (error instanceof AiTimeout) return undefined;
    }
  }
  return undefined;
}
