import type { NotificationRow } from "./queries";

/** Push services take about 4 KB; a payload stays well under, whatever a notification's data holds. */
const MAX_TITLE = 120;
const MAX_BODY = 400;
const MAX_DATA_BYTES = 1500;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * What a phone or browser is sent: the notification's id and kind (to open the right screen), its
 * title and body cut to fit, and its data when that is small (a digest's list of ids is not: the app
 * reads it from the inbox).
 */
export function pushPayloadOf(row: NotificationRow) {
  const data = JSON.stringify(row.data);
  return {
    notification_id: row.id,
    kind: row.kind,
    title: clip(row.title, MAX_TITLE),
    body: clip(row.body, MAX_BODY),
    data: new TextEncoder().encode(data).length <= MAX_DATA_BYTES ? row.data : {},
  };
}

export type PushPayload = ReturnType<typeof pushPayloadOf>;
