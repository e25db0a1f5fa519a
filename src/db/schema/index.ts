export * from "./delegation";
export * from "./events";
export * from "./focus";
export * from "./gamification";
export * from "./idempotency";
export * from "./pets";
export * from "./tasks";
export * from "./users";
