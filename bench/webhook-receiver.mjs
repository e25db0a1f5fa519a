// The local receiver of `npm run bench:webhooks`: one path per endpoint (/hook/<n>), so each receipt
// says which endpoint it was sent to. It answers 200 as soon as the body is in, records the receipt,
// then checks the Standard Webhooks signature with that endpoint's secret — after answering, so that
// checking never holds up the sender. Only what a real receiver sees is used: the headers and the body.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const HOOK_PATH = /^\/hook\/(\d+)$/;
// Longer than any pause between two deliveries: a keep-alive connection the sender reuses must not be
// closed under it (a reset request is a failed delivery, retried 30 s later, which would skew latency).
const KEEP_ALIVE_MS = 120_000;

/** Wall-clock time in ms with sub-millisecond precision (comparable with the events' ISO timestamps). */
export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * Starts the receiver on 127.0.0.1 (a free port). `addEndpoint(n, secret)` registers endpoint n's
 * signing secret; `receipts` collects `{ hook, id, task, type, at, occurred }` per request, in arrival order.
 */
export async function startReceiver() {
  /** @type {Map<number, Webhook>} */
  const verifiers = new Map();
  /** @type {{ hook: number, id: string, task: string | null, type: string | null, at: number, occurred: number }[]} */
  const receipts = [];
  const problems = { bad_signature: 0, unknown_endpoint: 0, bad_body: 0, reasons: {} };
  const state = { lastArrival: 0 };

  const note = (reason) => {
    problems.reasons[reason] = (problems.reasons[reason] ?? 0) + 1;
  };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const at = wallNow();
      state.lastArrival = at;
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      const body = Buffer.concat(chunks).toString("utf8");
      const match = HOOK_PATH.exec(req.url ?? "");
      const hook = match ? Number(match[1]) : -1;
      const verifier = verifiers.get(hook);
      if (req.method !== "POST" || !verifier) {
        problems.unknown_endpoint++;
        note(`${req.method} ${req.url}`.slice(0, 80));
        return;
      }
      let payload;
      try {
        payload = verifier.verify(body, req.headers);
      } catch (error) {
        problems.bad_signature++;
        note(error instanceof Error ? error.message : String(error));
        try {
          payload = JSON.parse(body);
        } catch {
          payload = undefined;
        }
      }
      const occurred = Date.parse(payload?.timestamp);
      const task = typeof payload?.data?.task_id === "string" ? payload.data.task_id : null;
      if (!task || Number.isNaN(occurred)) {
        problems.bad_body++;
        note(`body without data.task_id or timestamp: ${body.slice(0, 60)}`);
      }
      const id = req.headers["webhook-id"];
      receipts.push({
        hook,
        id: typeof id === "string" ? id : "",
        task,
        type: typeof payload?.type === "string" ? payload.type : null,
        at,
        occurred,
      });
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    base: `http://127.0.0.1:${port}`,
    urlOf: (n) => `http://127.0.0.1:${port}/hook/${n}`,
    addEndpoint: (n, secret) => verifiers.set(n, new Webhook(secret)),
    receipts,
    problems,
    lastArrival: () => state.lastArrival,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
