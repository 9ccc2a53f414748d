import type { DrugEntry } from './settings.js';

/** Lower case, letters and digits only: "Calcium Gluconate 10%" → "calciumgluconate10". */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface DrugMatch {
  /** The library's name for the drug, for messages. */
  name: string;
  vesicant: boolean;
}

/**
 * Matches a pump's drug name or code against the configured library. Pumps append strengths and
 * diluents to names ("Calcium gluconate 10% in G5"), so a library name matches as a prefix.
 * Called only when a channel's drug changes, never per sample.
 */
export class DrugLibrary {
  readonly #byPrefix: readonly (readonly [prefix: string, entry: DrugEntry])[];
  readonly #byCode: ReadonlyMap<string, DrugEntry>;
  readonly #careAreas: ReadonlySet<string>;

  constructor(entries: readonly DrugEntry[], sensitiveCareAreas: readonly string[]) {
    const prefixes: [string, DrugEntry][] = [];
    const codes = new Map<string, DrugEntry>();
    for (const entry of entries) {
      for (const name of [entry.name, ...entry.aliases]) {
        const prefix = normalise(name);
        if (prefix.length > 0) prefixes.push([prefix, entry]);
      }
      for (const code of entry.codes) codes.set(code, entry);
    }
    // Longest prefix first, so "calcium chloride" never loses to a shorter "calcium" entry.
    prefixes.sort((a, b) => b[0].length - a[0].length);
    this.#byPrefix = prefixes;
    this.#byCode = codes;
    this.#careAreas = new Set(sensitiveCareAreas.map((area) => area.toLowerCase()));
  }

  match(drug: { name: string; code?: string | undefined } | undefined): DrugMatch | undefined {
    if (drug === undefined) return undefined;
    const byCode = drug.code === undefined ? undefined : this.#byCode.get(drug.code);
    if (byCode !== undefined) return { name: byCode.name, vesicant: byCode.vesicant };
    const normalised = normalise(drug.name);
    for (const [prefix, entry] of this.#byPrefix) {
      if (normalised.startsWith(prefix)) return { name: entry.name, vesicant: entry.vesicant };
    }
    return undefined;
  }

  isSensitiveCareArea(careArea: string | undefined): boolean {
    return careArea !== undefined && this.#careAreas.has(careArea.toLowerCase());
  }
}
