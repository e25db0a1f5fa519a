import { afterEach, describe, expect, it } from "vitest";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import {
  connectRoom,
  events,
  expectGapFree,
  joinRoom,
  leaveRoom,
  openRoomSocket,
  type RoomSocket,
  roomTicket,
  roomWith,
  socketsOfTest,
} from "./helpers/rooms";

const sockets = socketsOfTest();

afterEach(sockets.closeAll);

async function open(roomId: string, options: Parameters<typeof openRoomSocket>[1]): Promise<RoomSocket> {
  return sockets.track(await openRoomSocket(roomId, options));
}

describe("a room's WebSocket", () => {
  it("tells every socket of every member each change, numbered without gaps", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const room = await roomWith(alice, [bob, carol]);
    const phone = await open(room.room_id, { token: alice.token });
    const laptop = await open(room.room_id, { ticket: await roomTicket(alice, room.room_id) });
    const bobs = await open(room.room_id, { token: bob.token });
    const carols = await open(room.room_id, { token: carol.token });
    const [hello] = await phone.waitFor(1);
    expect(hello).toMatchObject({ type: "hello", replayed: 0, gap: false, you: room.you });
    expect(hello?.state?.members.map((m) => m.presence)).toEqual(["here", "here", "here"]);
    const start = hello?.seq ?? 0;
    expect((await bobs.waitFor(1))[0]?.you).toBe(hello?.state?.members[1]?.member_id);

    const dave = await createUser();
    await joinRoom(dave, room.code, { display_name: "Dave" });
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: bob.token,
      body: { display_name: "Bobby" },
    });
    for (const socket of [phone, laptop, bobs, carols]) {
      const messages = await socket.waitFor(3);
      expect(events(messages)).toEqual([
        [start + 1, "member_joined"],
        [start + 2, "member_updated"],
      ]);
      expect(expectGapFree(messages)).toBe(true);
      expect(messages[1]?.member).toMatchObject({ display_name: "Dave", presence: "here" });
      expect(messages[1]?.member?.focus.status).toBe("idle");
      expect(messages[2]?.member).toMatchObject({
        member_id: hello?.state?.members[1]?.member_id,
        display_name: "Bobby",
      });
    }
    const text = JSON.stringify(phone.messages);
    for (const secret of [alice.id, bob.id, carol.id, dave.id, bob.email]) expect(text).not.toContain(secret);
  });

  it("closes a leaver's sockets with 4004 while the others see member_left", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const alices = await open(room.room_id, { token: alice.token });
    const bobPhone = await open(room.room_id, { token: bob.token });
    const bobLaptop = await open(room.room_id, { token: bob.token });
    const [hello] = await alices.waitFor(1);
    await bobPhone.waitFor(1);
    await bobLaptop.waitFor(1);

    await leaveRoom(bob, room.room_id);
    for (const socket of [bobPhone, bobLaptop]) {
      expect(await socket.closedSoon()).toEqual({ code: 4004, reason: "You left this room." });
      expect(socket.messages).toHaveLength(1);
    }
    const [, left] = await alices.waitFor(2);
    expect(left).toMatchObject({ type: "state", seq: (hello?.seq ?? 0) + 1, event: "member_left" });
    expect(left).toMatchObject({ member_id: hello?.state?.members[1]?.member_id });
    expect(left).not.toHaveProperty("state");
    // No longer a member: refused before any upgrade.
    expect((await connectRoom(room.room_id, { token: bob.token })).status).toBe(404);
  });

  it("refuses non-members (404) and missing credentials (401) before the upgrade", async () => {
    const [alice, mallory] = [await createUser(), await createUser()];
    const room = await roomWith(alice, []);
    const alices = await open(room.room_id, { token: alice.token });
    await alices.waitFor(1);

    const stranger = await connectRoom(room.room_id, { token: mallory.token });
    expect(stranger.status).toBe(404);
    expect(stranger.webSocket).toBeNull();
    expect(await problemOf(stranger)).toMatchObject({ code: "not_found" });
    const ticket = await call(`/api/v1/rooms/${room.room_id}/ws-ticket`, {
      method: "POST",
      token: mallory.token,
    });
    expect(ticket.status).toBe(404);

    const anonymous = await connectRoom(room.room_id);
    expect(anonymous.status).toBe(401);
    const forged = await connectRoom(room.room_id, { ticket: "not-a-ticket" });
    expect(forged.status).toBe(401);
    // Another room's ticket does not open this one.
    const other = await roomWith(mallory, []);
    const wrongRoom = await connectRoom(room.room_id, { ticket: await roomTicket(mallory, other.room_id) });
    expect(wrongRoom.status).toBe(401);
    // A member without an upgrade: 426.
    const plain = await call(`/api/v1/rooms/${room.room_id}/ws`, { token: alice.token });
    expect(plain.status).toBe(426);
    // A ticket opens one connection.
    const once = await roomTicket(alice, room.room_id);
    await open(room.room_id, { ticket: once });
    expect((await connectRoom(room.room_id, { ticket: once })).status).toBe(401);

    await joinRoom(mallory, room.code);
    const joined = await alices.waitFor(2);
    expect(events(joined)).toEqual([[(joined[0]?.seq ?? 0) + 1, "member_joined"]]);
  });

  it("answers pings, refuses actions with 422, and replays what a reconnecting client missed", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const socket = await open(room.room_id, { token: alice.token });
    const [hello] = await socket.waitFor(1);
    socket.ws.send(JSON.stringify({ type: "ping" }));
    expect((await socket.waitFor(2))[1]).toEqual({ type: "pong" });
    socket.ws.send(JSON.stringify({ type: "action", action: "leave", request_id: "1" }));
    expect((await socket.waitFor(3))[2]).toMatchObject({
      type: "error",
      status: 422,
      code: "validation_failed",
    });
    socket.ws.send("not json");
    expect((await socket.waitFor(4))[3]).toMatchObject({ type: "error", status: 400 });
    socket.close();

    const seen = hello?.seq ?? 0;
    const carolId = (await joinRoom(carol, room.code)).you;
    // (A leave would make the room forget its log: see rooms-review.test.ts.)
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: carol.token,
      body: { display_name: "Carol" },
    });
    const back = await open(room.room_id, { token: alice.token, query: `since=${seen}` });
    const messages = await back.waitFor(3);
    expect(messages.map((m) => [m.type, m.seq, m.event ?? null])).toEqual([
      ["state", seen + 1, "member_joined"],
      ["state", seen + 2, "member_updated"],
      ["hello", seen + 2, null],
    ]);
    expect(messages[0]?.member).toMatchObject({ member_id: carolId, display_name: "Test User" });
    expect(messages[1]?.member).toMatchObject({ member_id: carolId, display_name: "Carol" });
    expect(messages[2]).toMatchObject({ replayed: 2, gap: false });
    expect(messages[2]?.state?.members.map((m) => m.member_id)).toEqual([
      room.you,
      hello?.state?.members[1]?.member_id,
      carolId,
    ]);
  });
});
