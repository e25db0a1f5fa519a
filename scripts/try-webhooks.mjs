// `npm run try:webhooks` (with `npm start` running): the webhook path tried from outside, as a user would.
// A receiver on 127.0.0.1 subscribes to task.completed, a task is created and completed through the API,
// and the one delivery that arrives is verified with the `standardwebhooks` package. BASE overrides the
// API's address (default http://127.0.0.1:8787).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const base = process.env.BASE ?? "http://127.0.0.1:8787";
const WAIT_MS = 30_000;

async function api(method, path, { token, body, expected }) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected)
    throw new Error(`${method} ${path}: ${res.status}, expected ${expected}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const received = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
    res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const port = receiver.address().port;

try {
  const email = `try-webhooks-${randomBytes(4).toString("hex")}@example.com`;
  const auth = await api("POST", "/api/v1/auth/register", {
    body: { email, password: randomBytes(18).toString("base64url"), display_name: "Webhook tryout" },
    expected: 201,
  });
  const token = auth.access_token;
  const hook = await api("POST", "/api/v1/webhooks", {
    token,
    body: {
      url: `http://127.0.0.1:${port}/hook`,
      event_types: ["task.completed"],
      description: "try-webhooks",
    },
    expected: 201,
  });
  console.log(`subscribed http://127.0.0.1:${port}/hook to task.completed (webhook ${hook.webhook_id})`);
  const task = await api("POST", "/api/v1/tasks", {
    token,
    body: { title: "Water the plants" },
    expected: 201,
  });
  const completedAt = Date.now();
  await api("POST", `/api/v1/tasks/${task.task_id}/complete`, { token, body: {}, expected: 200 });
  console.log(`completed task ${task.task_id}; waiting for the delivery…`);
  const deadline = Date.now() + WAIT_MS;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // A moment more, to see that nothing arrives twice.
  await new Promise((r) => setTimeout(r, 3000));
  if (received.length !== 1) throw new Error(`expected one delivery, got ${received.length}`);
  const [delivery] = received;
  const payload = new Webhook(hook.secret).verify(delivery.body, delivery.headers);
  if (payload.type !== "task.completed" || payload.data.task_id !== task.task_id)
    throw new Error(`unexpected payload ${JSON.stringify(payload)}`);
  console.log(`received 1 delivery ${delivery.at - completedAt} ms after completing; signature verified`);
  console.log(`  webhook-id ${delivery.headers["webhook-id"]}, body ${delivery.body}`);
  const log = await api("GET", `/api/v1/webhooks/${hook.webhook_id}/deliveries`, { token, expected: 200 });
  console.log(
    `  the log shows ${log.length} delivery: ${log[0]?.status}, ${log[0]?.attempts.length} attempt(s)`,
  );
} finally {
  receiver.close();
}
