/** Calendar helpers of the gamification rules. Pure. */
import { addDays, type LocalDate } from "../../lib/time";

/** The Monday (UTC) of the week `at` falls in: weekly boards reset Monday 00:00 UTC. */
export function weekStartOf(at: number): LocalDate {
  const date = new Date(at).toISOString().slice(0, 10);
  const weekday = (new Date(at).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return addDays(date, -weekday);
}
