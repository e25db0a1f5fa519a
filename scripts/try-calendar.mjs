// `npm run try:calendar` (with `npm start` running): the calendar feed tried from outside, as a calendar
// app would. A task due tomorrow is created, a feed URL minted, and the feed fetched without a bearer
// token and parsed with ical.js; then the feed is imported into a second account and read back.
// BASE overrides the API's address (default http://127.0.0.1:8787).
import { randomBytes } from "node:crypto";
import ICAL from "ical.js";

const base = process.env.BASE ?? "http://127.0.0.1:8787";

async function api(method, path, { token, body, expected, contentType }) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": contentType ?? "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected)
    throw new Error(`${method} ${path}: ${res.status}, expected ${expected}: ${text}`);
  return text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
}

async function register() {
  const auth = await api("POST", "/api/v1/auth/register", {
    body: {
      email: `try-calendar-${randomBytes(4).toString("hex")}@example.com`,
      password: randomBytes(18).toString("base64url"),
      display_name: "Calendar tryout",
    },
    expected: 201,
  });
  return auth.access_token;
}

const owner = await register();
const due = new Date(Date.now() + 24 * 3_600_000);
due.setUTCMinutes(0, 0, 0);
const task = await api("POST", "/api/v1/tasks", {
  token: owner,
  body: { title: "Renew the passport", due_at: due.toISOString() },
  expected: 201,
});
const feed = await api("POST", "/api/v1/calendar/feed", { token: owner, expected: 201 });
console.log(`feed URL minted: ${feed.url.replace(/[^/]+\.ics$/, "<secret>.ics")}`);

const res = await fetch(feed.url);
if (res.status !== 200) throw new Error(`the feed answered ${res.status}`);
const text = await res.text();
const calendar = new ICAL.Component(ICAL.parse(text));
const events = calendar.getAllSubcomponents("vevent").map((v) => new ICAL.Event(v));
const found = events.find((e) => e.summary.includes("Renew the passport"));
if (!found) throw new Error(`the feed does not hold the due task:\n${text}`);
console.log(
  `feed parsed by ical.js: ${events.length} event(s); "${found.summary}" starts ${found.startDate.toJSDate().toISOString()} (due ${task.due_at}), UID ${found.uid}`,
);
const etag = res.headers.get("etag");
const again = await fetch(feed.url, { headers: { "if-none-match": etag ?? "" } });
console.log(`fetched again with If-None-Match: ${again.status}`);

const other = await register();
const preview = await api("POST", "/api/v1/calendar/import?preview=true", {
  token: other,
  body: text,
  contentType: "text/calendar",
  expected: 200,
});
const first = await api("POST", "/api/v1/calendar/import?preview=false", {
  token: other,
  body: text,
  contentType: "text/calendar",
  expected: 200,
});
const second = await api("POST", "/api/v1/calendar/import?preview=false", {
  token: other,
  body: text,
  contentType: "text/calendar",
  expected: 200,
});
console.log(
  `imported into a second account: preview would create ${preview.created}; created ${first.created}; importing again created ${second.created}, updated ${second.updated}, unchanged ${second.unchanged}`,
);
