/** How much energy the user says they have: it sizes the steps a split suggests. */
export const ENERGY_LEVELS = ["low", "medium", "high"] as const;
export type Energy = (typeof ENERGY_LEVELS)[number];
