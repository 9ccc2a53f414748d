import type { Finding, FindingSink } from '../alarms/finding.js';

const MAX_SOURCES = 30;

/**
 * Lets several detectors report the same condition on the same channel without ending each
 * other's alarm. The pump's own occlusion alarm and the pressure-trend detector both report
 * `downstream-occlusion`: the condition is active while *any* source holds it, is raised by the
 * first source (with its evidence) and ends only when the last source lets go.
 * Runs only when a finding changes state, so string keys are fine here.
 */
export class FindingMerger {
  readonly #emit: FindingSink;
  readonly #activeSources = new Map<string, number>();
  #sourceCount = 0;

  constructor(emit: FindingSink) {
    this.#emit = emit;
  }

  /** A sink for one more source. */
  source(): FindingSink {
    if (this.#sourceCount >= MAX_SOURCES) throw new Error(`PW_MERGE_SOURCES: at most ${MAX_SOURCES} finding sources`);
    const bit = 1 << this.#sourceCount++;
    return (finding) => this.#onFinding(bit, finding);
  }

  /** A retired channel: every source lets go of it without a word (its alarms were ended). */
  forget(pumpId: string, channel: string): void {
    const prefix = `${pumpId}\u0000${channel}\u0000`;
    for (const key of [...this.#activeSources.keys()]) if (key.startsWith(prefix)) this.#activeSources.delete(key);
  }

  #onFinding(bit: number, finding: Finding): void {
    const key = `${finding.pumpId}\u0000${finding.channel}\u0000${finding.condition}`;
    const before = this.#activeSources.get(key) ?? 0;
    const after = finding.active ? before | bit : before & ~bit;
    if (after === before) return;
    if (after === 0) this.#activeSources.delete(key);
    else this.#activeSources.set(key, after);
    if (before === 0 || after === 0) this.#emit(finding);
  }
}
