/**
 * What a request's D1 work cost: statements, round trips, time waiting on D1, and the rows D1 read
 * and wrote (the units Workers bills). Shown to the caller in `Server-Timing`, kept per route in the
 * metrics, and each statement slower than the threshold is kept for the slow-query log.
 */
export interface QueryCosts {
  statements: number;
  trips: number;
  /** Wall time spent waiting on D1, summed over trips (overlapping trips both count). */
  ms: number;
  rowsRead: number;
  rowsWritten: number;
  slow: SlowStatement[];
}

export interface SlowStatement {
  /** The statement as sent: placeholders, never the values bound to them. */
  sql: string;
  ms: number;
  rowsRead: number;
  rowsWritten: number;
}

/** At most this many slow statements are kept per request: a loop of slow reads is one finding. */
const SLOW_KEPT = 5;
/** Statement text kept in the log: enough to recognise it, not a whole bulk insert. */
const SQL_KEPT = 2_000;

export function noCosts(): QueryCosts {
  return { statements: 0, trips: 0, ms: 0, rowsRead: 0, rowsWritten: 0, slow: [] };
}

interface D1Meta {
  duration?: unknown;
  rows_read?: unknown;
  rows_written?: unknown;
}
type Sent = { meta?: D1Meta } | undefined;

const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0);

/** Adds one round trip's answers (one per statement, in the order sent) to `costs`. */
export function addTrip(
  costs: QueryCosts,
  sqls: string[],
  answers: Sent[],
  ms: number,
  slowMs: number,
): void {
  costs.trips += 1;
  costs.ms += ms;
  costs.statements += sqls.length;
  sqls.forEach((sql, i) => {
    const meta = answers[i]?.meta ?? {};
    const rowsRead = count(meta.rows_read);
    const rowsWritten = count(meta.rows_written);
    costs.rowsRead += rowsRead;
    costs.rowsWritten += rowsWritten;
    // D1 times each statement itself; a lone statement's trip time is the fallback.
    const took = typeof meta.duration === "number" ? meta.duration : sqls.length === 1 ? ms : 0;
    if (took >= slowMs && costs.slow.length < SLOW_KEPT)
      costs.slow.push({ sql: sql.slice(0, SQL_KEPT), ms: took, rowsRead, rowsWritten });
  });
}

type Send = (...args: unknown[]) => Promise<unknown>;
interface SessionInternals {
  _sendOrThrow?: Send;
  _queryOrThrow?: Send;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/**
 * Meters every statement `session` sends into `costs`. D1's public API hands back its result metadata
 * (rows read and written, time) only from `all`, `run` and `batch`; drizzle reads rows through `raw`,
 * which drops it. So the meter sits one level lower, on the session's own send method (the one every
 * statement and batch of the session goes through, in both of the runtime's transports). Should a
 * runtime update rename it, nothing breaks: the session is left as it is and the costs stay at zero,
 * which tests/query-costs.test.ts turns into a failure before that reaches production.
 */
export function meterSession<S extends D1DatabaseSession>(session: S, costs: QueryCosts, slowMs: number): S {
  const internals = session as unknown as SessionInternals;
  const { _sendOrThrow: send, _queryOrThrow: query } = internals;
  // A trip that fails counts too (its statements were sent and waited for), with no rows.
  const metered =
    (original: Send, sqlsOf: (args: unknown[]) => string[]) =>
    async (...args: unknown[]) => {
      const started = performance.now();
      let answer: unknown;
      try {
        answer = await Reflect.apply(original, session, args);
        return answer;
      } finally {
        addTrip(costs, sqlsOf(args), asList(answer as Sent | Sent[]), performance.now() - started, slowMs);
      }
    };
  if (typeof send === "function") internals._sendOrThrow = metered(send, (args) => asList(args[1] as string));
  if (typeof query === "function")
    internals._queryOrThrow = metered(query, (args) =>
      ((args[0] as { queries?: { sql: string }[] } | undefined)?.queries ?? []).map((q) => q.sql),
    );
  return session;
}

const ms = (value: number) => Math.round(value * 10) / 10;

/**
 * The `Server-Timing` entries for `costs` and the whole request's `totalMs`; only the total for a
 * caller with no credential (`costs` undefined): the rows a sign-in read would tell whether an account
 * exists, which the sign-in's answer and timing are careful not to.
 */
export function serverTiming(costs: QueryCosts | undefined, totalMs: number): string {
  if (!costs) return `total;dur=${ms(totalMs)}`;
  return [
    `total;dur=${ms(totalMs)}`,
    `d1;dur=${ms(costs.ms)};desc="${costs.statements} statements in ${costs.trips} trips"`,
    `d1-statements;desc=${costs.statements}`,
    `d1-trips;desc=${costs.trips}`,
    `d1-rows-read;desc=${costs.rowsRead}`,
    `d1-rows-written;desc=${costs.rowsWritten}`,
  ].join(", ");
}
