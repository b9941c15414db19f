// A minimal typed event emitter (EventTarget would cost more bytes and lose
// the payload types).

export type Listener<T> = (payload: T) => void;

/** Emitter delivers named events with typed payloads to listeners. */
export class Emitter<Events extends object> {
  readonly #ls = new Map<keyof Events, Set<Listener<never>>>();

  /** on adds a listener and returns a function that removes it. */
  on<K extends keyof Events>(type: K, fn: Listener<Events[K]>): () => void {
    let set = this.#ls.get(type);
    if (!set) this.#ls.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(type, fn);
  }

  /** off removes a listener added with on. */
  off<K extends keyof Events>(type: K, fn: Listener<Events[K]>): void {
    this.#ls.get(type)?.delete(fn as Listener<never>);
  }

  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const fn of this.#ls.get(type) ?? []) {
      try {
        (fn as Listener<Events[K]>)(payload);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
