/**
 * Seeded pseudo-random numbers for the simulator. Math.random is never used: the same seed must
 * give the same bytes on every run, and every channel draws from its own stream so that adding a
 * pump never changes what the others do.
 */

/** Mixes a 32-bit value (splitmix32 finaliser); used to spread seeds and hashes. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Turns a user seed into a 32-bit seed: whole numbers 0 … 2³²−1 stay as they are (so a run record shows `7`), text is hashed. */
export function normaliseSeed(seed: number | string): number {
  if (typeof seed === 'string') return hashString(seed);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite (got ${seed})`);
  const whole = Math.trunc(seed);
  if (whole >= 0 && whole <= 0xffffffff) return whole;
  return (mix32(whole >>> 0) ^ mix32(Math.floor(whole / 2 ** 32) >>> 0)) >>> 0;
}

/** A seed for one purpose (e.g. pump `P03`, channel `2`, `sensor`) derived from the run seed. */
export function deriveSeed(base: number, ...parts: readonly (string | number)[]): number {
  let seed = mix32(base);
  for (const part of parts) seed = mix32(seed ^ (typeof part === 'number' ? mix32(part) : hashString(part)));
  return seed;
}

/** xoshiro128**: small state, good statistical quality, fast with 32-bit integer maths. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal = 0;
  #hasSpare = false;

  constructor(seed: number) {
    // splitmix32 fills the state so that nearby seeds give unrelated streams; never all zero.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      return mix32(s);
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Log-uniform in [min, max]: for quantities spread over orders of magnitude (rates, resistances). */
  logUniform(min: number, max: number): number {
    return Math.exp(this.uniform(Math.log(min), Math.log(max)));
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Standard normal (Box–Muller, the second value cached). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spareNormal;
    }
    let u = this.next();
    while (u <= 0) u = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.next();
    this.#spareNormal = radius * Math.sin(angle);
    this.#hasSpare = true;
    return radius * Math.cos(angle);
  }

  /** Log-normal with the given median and log-SD. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Exponential waiting time with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight from `[item, weight]` pairs. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let point = this.next() * total;
    for (const [item, weight] of choices) {
      point -= weight;
      if (point < 0) return item;
    }
    return choices[choices.length - 1]![0];
  }
}

function rotl(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}
