/**
 * Per-channel state keyed by pump then channel: two Map lookups per sample and no key strings
 * built on the hot path.
 */
export class ChannelMap<State> {
  readonly #byPump = new Map<string, Map<string, State>>();
  /** Held once, so a lookup on the hot path never builds a closure. */
  readonly #create: () => State;
  #size = 0;

  constructor(create: () => State) {
    this.#create = create;
  }

  get size(): number {
    return this.#size;
  }

  get(pumpId: string, channel: string): State | undefined {
    return this.#byPump.get(pumpId)?.get(channel);
  }

  getOrCreate(pumpId: string, channel: string): State {
    let channels = this.#byPump.get(pumpId);
    if (channels === undefined) {
      channels = new Map();
      this.#byPump.set(pumpId, channels);
    }
    let state = channels.get(channel);
    if (state === undefined) {
      state = this.#create();
      channels.set(channel, state);
      this.#size++;
    }
    return state;
  }

  /** Drops a channel's state (a retired channel); true when there was one. */
  delete(pumpId: string, channel: string): boolean {
    const channels = this.#byPump.get(pumpId);
    if (channels === undefined || !channels.delete(channel)) return false;
    if (channels.size === 0) this.#byPump.delete(pumpId);
    this.#size--;
    return true;
  }

  /**
   * Visits every channel without the tuple and generator step `entries` costs per channel: for
   * sweeps over every channel on a timer. `visit` may delete the channel it is given.
   */
  forEach(visit: (state: State, pumpId: string, channel: string) => void): void {
    this.#byPump.forEach((channels, pumpId) => channels.forEach((state, channel) => visit(state, pumpId, channel)));
  }

  *entries(): IterableIterator<[pumpId: string, channel: string, state: State]> {
    for (const [pumpId, channels] of this.#byPump) {
      for (const [channel, state] of channels) yield [pumpId, channel, state];
    }
  }
}
