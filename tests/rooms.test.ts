import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatRoomCode, newRoomCodeKey, roomCodeKey } from "../src/features/rooms/code";
import { newId } from "../src/lib/ids";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { createRoom, joinRoom, leaveRoom, membersInD1, myRooms, roomOf } from "./helpers/rooms";

describe("room codes", () => {
  it("are two groups of four from an alphabet without 0, O, 1 or I, typed in any case", () => {
    for (let i = 0; i < 50; i++) {
      const key = newRoomCodeKey();
      const shown = formatRoomCode(key);
      expect(shown).toMatch(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
      expect(roomCodeKey(shown.toLowerCase())).toBe(key);
      expect(roomCodeKey(` ${shown.slice(0, 2)} ${shown.slice(2).replace("-", " - ")} `)).toBe(key);
    }
    expect(roomCodeKey("O0O0-1I1I")).toBeNull();
    expect(roomCodeKey("ABCD-EFG")).toBeNull();
  });
});

describe("creating a room", () => {
  it("answers 201 with the code and the creator as its only member, showing no user id or email", async () => {
    const alice = await createUser();
    const res = await call("/api/v1/rooms", {
      token: alice.token,
      body: { name: "Thesis writing", max_members: 5, sync_pomodoro: true },
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const room = JSON.parse(text);
    expect(room).toMatchObject({
      name: "Thesis writing",
      max_members: 5,
      sync_pomodoro: true,
      status: "open",
      members: [
        {
          display_name: "Test User",
          presence: "here",
          share_task: false,
          sync_pomodoro: true,
          focus: { status: "idle", session_id: null, remaining_seconds: null, task: null },
        },
      ],
    });
    expect(room.code).toMatch(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
    expect(room.you).toBe(room.members[0].member_id);
    expect(text).not.toContain(alice.id);
    expect(text).not.toContain(alice.email);
    const row = await env.DB.prepare("SELECT code, code_key, max_members, status FROM rooms WHERE id = ?")
      .bind(room.room_id)
      .first();
    expect(row).toEqual({
      code: room.code,
      code_key: room.code.replace("-", ""),
      max_members: 5,
      status: "open",
    });
    expect(await membersInD1(room.room_id)).toBe(1);
  });

  it("defaults to 20 members without sync, and takes a display name of the creator's choosing", async () => {
    const alice = await createUser();
    const room = await createRoom(alice, { display_name: "  Al  ", share_task: true });
    expect(room).toMatchObject({ name: null, max_members: 20, sync_pomodoro: false });
    expect(room.members).toMatchObject([{ display_name: "Al", share_task: true, sync_pomodoro: false }]);
  });

  it("is retry-safe with an Idempotency-Key: the same room, once", async () => {
    const alice = await createUser();
    const headers = { "idempotency-key": `room-${crypto.randomUUID()}` };
    const first = await callJson<{ room_id: string }>("/api/v1/rooms", 201, {
      token: alice.token,
      body: { name: "Once" },
      headers,
    });
    const again = await call("/api/v1/rooms", { token: alice.token, body: { name: "Once" }, headers });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await again.json<{ room_id: string }>()).room_id).toBe(first.room_id);
    expect(await myRooms(alice)).toHaveLength(1);
  });

  it.each([
    [{ max_members: 1 }, "max_members"],
    [{ max_members: 21 }, "max_members"],
    [{ max_members: 2.5 }, "max_members"],
    [{ name: "x".repeat(81) }, "name"],
    [{ display_name: "   " }, "display_name"],
    [{ sync_pomodoro: "yes" }, "sync_pomodoro"],
  ])("refuses %j with 422 naming the field", async (body, field) => {
    const alice = await createUser();
    const res = await call("/api/v1/rooms", { token: alice.token, body });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(await myRooms(alice)).toEqual([]);
  });

  it("needs the focus:write scope", async () => {
    const alice = await createUser();
    const { token } = await callJson<{ token: string }>("/api/v1/auth/tokens", 201, {
      token: alice.token,
      body: { name: "reader", scopes: ["focus:read"] },
    });
    const res = await call("/api/v1/rooms", { token, body: {} });
    expect(res.status).toBe(403);
    expect(await callJson("/api/v1/rooms", 200, { token })).toEqual([]);
  });
});

describe("joining a room", () => {
  it("matches the code in any case and without its dash, and joining again changes nothing", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const room = await createRoom(alice);
    const joined = await joinRoom(bob, ` ${room.code.replace("-", "").toLowerCase()} `, {
      display_name: "Bob",
      share_task: true,
    });
    expect(joined.room_id).toBe(room.room_id);
    expect(joined.members.map((m) => m.display_name)).toEqual(["Test User", "Bob"]);
    expect(joined.you).toBe(joined.members[1]?.member_id);
    const again = await joinRoom(bob, room.code, { display_name: "Someone else" });
    const names = (r: typeof joined) => r.members.map((m) => [m.member_id, m.display_name]);
    expect(names(again)).toEqual(names(joined));
    expect(await membersInD1(room.room_id)).toBe(2);
    const seen = await roomOf(alice, room.room_id);
    expect(seen.members.map((m) => m.member_id)).toEqual(joined.members.map((m) => m.member_id));
    expect(seen.you).toBe(room.you);
  });

  it("follows the room's sync setting unless the joiner says otherwise", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const room = await createRoom(alice, { sync_pomodoro: true });
    expect((await joinRoom(bob, room.code)).members[1]?.sync_pomodoro).toBe(true);
    expect((await joinRoom(carol, room.code, { sync_pomodoro: false })).members[2]?.sync_pomodoro).toBe(
      false,
    );
  });

  it("answers a wrong, malformed or closed room's code with 404", async () => {
    const alice = await createUser();
    const bob = await createUser();
    for (const code of ["ZZZZ-ZZZZ", "!!", "O0O0O0O0"]) {
      const res = await call("/api/v1/rooms/join", { token: bob.token, body: { code } });
      expect(res.status, code).toBe(404);
      expect(await problemOf(res)).toMatchObject({
        code: "not_found",
        detail: "No open room has that code.",
      });
    }
    const room = await createRoom(alice);
    await env.DB.prepare("UPDATE rooms SET status = 'closed' WHERE id = ?").bind(room.room_id).run();
    const closed = await call("/api/v1/rooms/join", { token: bob.token, body: { code: room.code } });
    expect(closed.status).toBe(404);
  });

  it("refuses a full room with 409 room_full", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const room = await createRoom(alice, { max_members: 2 });
    await joinRoom(bob, room.code);
    const res = await call("/api/v1/rooms/join", { token: carol.token, body: { code: room.code } });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: "room_full" });
    expect(await membersInD1(room.room_id)).toBe(2);
  });

  it("holds the cap under concurrent joins", async () => {
    const alice = await createUser();
    const room = await createRoom(alice, { max_members: 3 });
    const joiners = await Promise.all(Array.from({ length: 6 }, () => createUser()));
    const answers = await Promise.all(
      joiners.map((u) => call("/api/v1/rooms/join", { token: u.token, body: { code: room.code } })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 409, 409, 409, 409]);
    expect(await membersInD1(room.room_id)).toBe(3);
    expect((await roomOf(alice, room.room_id)).members).toHaveLength(3);
  });

  it("lets a person be in at most 10 open rooms (409 too_many_rooms), creating or joining", async () => {
    const alice = await createUser();
    const bob = await createUser();
    for (let i = 0; i < 10; i++) await createRoom(alice, { name: `Room ${i}` });
    const eleventh = await call("/api/v1/rooms", { token: alice.token, body: { name: "One too many" } });
    expect(eleventh.status).toBe(409);
    expect(await problemOf(eleventh)).toMatchObject({ code: "too_many_rooms" });
    const bobs = await createRoom(bob);
    const join = await call("/api/v1/rooms/join", { token: alice.token, body: { code: bobs.code } });
    expect(join.status).toBe(409);
    expect(await problemOf(join)).toMatchObject({ code: "too_many_rooms" });
    expect(await myRooms(alice)).toHaveLength(10);
    // Leaving one makes room for another.
    const [first] = await myRooms(alice);
    await leaveRoom(alice, first?.room_id ?? "");
    expect((await joinRoom(alice, bobs.code)).members).toHaveLength(2);
  });
});

describe("a member's rooms", () => {
  it("are listed, read, changed and left; other people's rooms are 404 like missing ones", async () => {
    const [alice, bob, mallory] = [await createUser(), await createUser(), await createUser()];
    const room = await createRoom(alice, { name: "Deep work" });
    await joinRoom(bob, room.code);
    expect(await myRooms(bob)).toMatchObject([
      { room_id: room.room_id, name: "Deep work", code: room.code, members: 2, max_members: 20 },
    ]);

    const patched = await callJson<{ members: { display_name: string; share_task: boolean }[] }>(
      `/api/v1/rooms/${room.room_id}/me`,
      200,
      { method: "PATCH", token: bob.token, body: { display_name: "Bobby", share_task: true } },
    );
    expect(patched.members[1]).toMatchObject({ display_name: "Bobby", share_task: true });
    expect((await roomOf(alice, room.room_id)).members[1]?.display_name).toBe("Bobby");
    const unknownField = await call(`/api/v1/rooms/${room.room_id}/me`, {
      method: "PATCH",
      token: bob.token,
      body: { max_members: 3 },
    });
    expect(unknownField.status).toBe(422);
    const empty = await callJson<{ members: { display_name: string }[] }>(
      `/api/v1/rooms/${room.room_id}/me`,
      200,
      {
        method: "PATCH",
        token: bob.token,
        body: {},
      },
    );
    expect(empty.members[1]?.display_name).toBe("Bobby");

    for (const roomId of [room.room_id, newId()]) {
      for (const [method, path, body] of [
        ["GET", "", undefined],
        ["PATCH", "/me", { display_name: "Mallory" }],
        ["POST", "/leave", undefined],
        ["POST", "/ws-ticket", undefined],
      ] as const) {
        const res = await call(`/api/v1/rooms/${roomId}${path}`, { method, token: mallory.token, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await problemOf(res)).toMatchObject({ code: "not_found", detail: "Room was not found." });
      }
    }

    await leaveRoom(bob, room.room_id);
    expect(await myRooms(bob)).toEqual([]);
    expect((await call(`/api/v1/rooms/${room.room_id}`, { token: bob.token })).status).toBe(404);
    expect((await roomOf(alice, room.room_id)).members.map((m) => m.display_name)).toEqual(["Test User"]);
    expect(await membersInD1(room.room_id)).toBe(1);
    const twice = await call(`/api/v1/rooms/${room.room_id}/leave`, { method: "POST", token: bob.token });
    expect(twice.status).toBe(404);
  });
});
