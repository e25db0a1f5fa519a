/**
 * The first `maxBytes` of a response body as text, read a chunk at a time and then cancelled: for
 * answers from servers someone else chose (push services, webhook receivers), which must not make us
 * buffer a huge body or wait on one that never ends. Reading stops when `stop` rejects; what arrived
 * by then is kept.
 */
export async function bodyPrefix(
  response: Response,
  maxBytes: number,
  stop: Promise<never>,
): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await Promise.race([reader.read(), stop]);
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // What arrived before the failure is still worth keeping.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(Math.min(size, maxBytes));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
    if (at >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}

/** A promise that rejects at `deadline` (ms since the epoch), and the way to call it off. */
export function deadlineOf(deadline: number): { stop: Promise<never>; clear: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Too late.")), Math.max(0, deadline - Date.now()));
  });
  // Nobody may be racing it when it fires: that rejection is expected, not an error.
  stop.catch(() => undefined);
  return { stop, clear: () => (timer === undefined ? undefined : clearTimeout(timer)) };
}
