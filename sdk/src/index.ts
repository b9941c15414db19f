// Cachet's page client. See sdk/README.md.
import { start } from "./client";

export type { ConnState, EvictEvent, Events, Options, PurgeEvent, Stats, Client } from "./client";
export type { Generation, Transition } from "./record";
export { start };

/** Cachet is the SDK's entry point: Cachet.start({ pushUrl, token, channels }). */
export const Cachet = { start };
