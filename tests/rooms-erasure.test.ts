import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { call, callJson, createUser } from "./helpers/api";
import { apiTokenFor, revokeApiTokenOf } from "./helpers/auth";
import { startFocus } from "./helpers/focus";
import {
  connectRoom,
  events,
  membersInD1,
  roomObject,
  roomOf,
  roomWith,
  socketsOfTest,
} from "./helpers/rooms";
import { createTask } from "./helpers/tasks";

const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** Everything the room's object stores, as text: its state and its message log. */
function storedText(roomId: string): Promise<string> {
  return runInDurableObject(roomObject(roomId), (_instance, state) => {
    const meta = state.storage.sql.exec("SELECT key, value FROM meta").toArray();
    const messages = state.storage.sql.exec("SELECT body FROM messages").toArray();
    return JSON.stringify({ meta, messages });
  });
}

describe("deleting an account", () => {
  it("takes the person out of their rooms: sockets closed 4003, the others told, nothing of them kept", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const task = await createTask(alice, { title: "Alice's secret chapter" });
    const room = await roomWith(alice, [bob]);
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { display_name: "Alice Secretname", share_task: true },
    });
    const alices = await open(room.room_id, alice.token);
    const bobs = await open(room.room_id, bob.token);
    await startFocus(alice, { task_id: task.task_id });
    await bobs.waitFor(2);
    expect(await storedText(room.room_id)).toContain("Alice's secret chapter");

    const res = await call("/api/v1/auth/me", {
      method: "DELETE",
      token: alice.token,
      body: { password: alice.password },
    });
    expect(res.status).toBe(204);
    expect(await alices.closedSoon()).toMatchObject({ code: 4003 });
    const messages = await bobs.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_focus", "member_removed"]);
    expect(messages[1]?.member).toMatchObject({ member_id: room.you, display_name: "Alice Secretname" });
    expect(messages[2]?.member_id).toBe(room.you);
    expect(await membersInD1(room.room_id)).toBe(1);
    expect((await roomOf(bob, room.room_id)).members).toHaveLength(1);
    const stored = await storedText(room.room_id);
    for (const trace of [alice.id, "Alice Secretname", "Alice's secret chapter", task.task_id]) {
      expect(stored).not.toContain(trace);
    }
  });
});

describe("revoking a credential", () => {
  it("closes the room sockets it opened with 4001, and no others", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const reader = await apiTokenFor(bob, ["focus:read"]);
    const revoked = await open(room.room_id, reader.token);
    const kept = await open(room.room_id, bob.token);
    const alices = await open(room.room_id, alice.token);

    await revokeApiTokenOf(bob, reader.id);
    expect(await revoked.closedSoon()).toMatchObject({ code: 4001 });
    expect((await connectRoom(room.room_id, { token: reader.token })).status).toBe(401);
    await startFocus(alice);
    expect(events(await kept.waitFor(2)).map(([, e]) => e)).toEqual(["member_focus"]);
    expect(events(await alices.waitFor(2)).map(([, e]) => e)).toEqual(["member_focus"]);
    expect(revoked.messages.map((m) => m.type)).toEqual(["hello"]);
  });

  it("closes the room sockets of a session that logs out", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    await callJson("/api/v1/auth/logout", 204, {
      method: "POST",
      token: bob.token,
      body: { refresh_token: bob.refreshToken },
    });
    expect(await bobs.closedSoon()).toMatchObject({ code: 4001 });
  });
});
