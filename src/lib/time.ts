export const nowIso = (now = Date.now()) => new Date(now).toISOString();

/** True when `zone` is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Offset of `zone` from UTC, in minutes, at the instant `at` (DST-aware). */
export function timeZoneOffsetMinutes(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** The UTC instant at which the wall clock in `zone` reads the given local date and time. */
export function zonedTimeToUtc(
  zone: string,
  local: { year: number; month: number; day: number; hour: number; minute: number; second?: number },
): Date {
  const naive = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second ?? 0);
  // Two passes settle the offset across a DST change between the naive guess and the real instant.
  let offset = timeZoneOffsetMinutes(zone, new Date(naive));
  let instant = naive - offset * 60_000;
  const second = timeZoneOffsetMinutes(zone, new Date(instant));
  if (second !== offset) {
    offset = second;
    instant = naive - offset * 60_000;
  }
  return new Date(instant);
}
