/** One reading of the steady gateway's resources, at a point of simulated time. */
export interface ResourceSample {
  wallSeconds: number;
  simDays: number;
  rssMiB: number;
  heapMiB: number;
  journalKiB: number;
  openFds: number;
  /** Worst event-loop lag since the previous reading. */
  lagMs: number;
  /** The machine's 1-minute load average: the soak shares its cores. */
  load1: number;
}

export const RESOURCES = ['rssMiB', 'heapMiB', 'journalKiB', 'openFds', 'lagMs'] as const;
export type Resource = (typeof RESOURCES)[number];

export interface Trend {
  /** Least-squares slope per simulated day, after warm-up. */
  slopePerDay: number;
  mean: number;
  min: number;
  max: number;
}

/** Least-squares slope and range of one resource over the readings after `warmUpDays`. */
export function trend(samples: readonly ResourceSample[], resource: Resource, warmUpDays: number): Trend {
  const kept = samples.filter((sample) => sample.simDays >= warmUpDays);
  const n = kept.length;
  if (n < 2) return { slopePerDay: Number.NaN, mean: Number.NaN, min: Number.NaN, max: Number.NaN };
  const meanX = kept.reduce((sum, s) => sum + s.simDays, 0) / n;
  const meanY = kept.reduce((sum, s) => sum + s[resource], 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const sample of kept) {
    covariance += (sample.simDays - meanX) * (sample[resource] - meanY);
    variance += (sample.simDays - meanX) ** 2;
  }
  const values = kept.map((sample) => sample[resource]);
  return { slopePerDay: variance === 0 ? Number.NaN : covariance / variance, mean: meanY, min: Math.min(...values), max: Math.max(...values) };
}

const UNITS: Record<Resource, string> = { rssMiB: 'RSS (MiB)', heapMiB: 'heap used (MiB)', journalKiB: 'journal (KiB)', openFds: 'open fds', lagMs: 'event-loop lag (ms)' };

/** Small multiples, one panel per resource against simulated days, with the warm-up shaded. Plain SVG: no plotting dependency. */
export function renderSvg(samples: readonly ResourceSample[], warmUpDays: number): string {
  const width = 720;
  const panelHeight = 110;
  const left = 70;
  const right = 20;
  const top = 24;
  const gap = 34;
  const height = top + RESOURCES.length * (panelHeight + gap);
  const maxDays = Math.max(1e-9, ...samples.map((sample) => sample.simDays));
  const x = (days: number) => left + ((width - left - right) * days) / maxDays;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="14" font-size="12">pumpwatch soak: steady gateway over ${maxDays.toFixed(2)} simulated days (grey: warm-up)</text>`,
  ];
  RESOURCES.forEach((resource, index) => {
    const y0 = top + index * (panelHeight + gap) + 12;
    const values = samples.map((sample) => sample[resource]);
    const high = Math.max(1e-9, ...values) * 1.1;
    const y = (value: number) => y0 + panelHeight - (panelHeight * value) / high;
    parts.push(`<rect x="${left}" y="${y0}" width="${x(Math.min(warmUpDays, maxDays)) - left}" height="${panelHeight}" fill="#eee"/>`);
    parts.push(`<rect x="${left}" y="${y0}" width="${width - left - right}" height="${panelHeight}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${left}" y="${y0 - 3}">${UNITS[resource]}</text>`);
    parts.push(`<text x="${left - 4}" y="${y0 + 8}" text-anchor="end">${high.toFixed(high < 10 ? 1 : 0)}</text>`);
    parts.push(`<text x="${left - 4}" y="${y0 + panelHeight}" text-anchor="end">0</text>`);
    const points = samples.map((sample) => `${x(sample.simDays).toFixed(1)},${y(sample[resource]).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="#1f5fa8" stroke-width="1.2" points="${points}"/>`);
  });
  const axisY = height - 8;
  for (let day = 0; day <= Math.floor(maxDays); day++) parts.push(`<text x="${x(day)}" y="${axisY}" text-anchor="middle">day ${day}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A markdown table of rows of [label, value]. */
export function markdownTable(header: readonly [string, string], rows: readonly (readonly [string, string])[]): string {
  return [`| ${header[0]} | ${header[1]} |`, '|---|---|', ...rows.map(([label, value]) => `| ${label} | ${value} |`)].join('\n');
}

export function trendRows(trends: Record<Resource, Trend>): [string, string][] {
  return RESOURCES.map((resource) => {
    const t = trends[resource];
    return [`${UNITS[resource]}: slope per simulated day after warm-up`, `${signed(t.slopePerDay)} (mean ${t.mean.toFixed(1)}, range ${t.min.toFixed(1)}–${t.max.toFixed(1)})`];
  });
}

function signed(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  return `${value >= 0 ? '+' : ''}${value.toFixed(Math.abs(value) < 1 ? 3 : 1)}`;
}

/** What one simulated day of the run put through the steady gateway. */
export interface DayTally {
  day: number;
  /** Alarm events first received that day, by condition. */
  events: Record<string, number>;
  /** Bytes appended to the journal that day (compactions not subtracted), from the readings. */
  journalAppendedKiB: number;
}

/**
 * Events per condition and journal bytes appended, per whole simulated day: a resource that grows
 * shows whether the ward, the faults or the daemon put more through it as the run went on.
 */
export function dayTallies(
  received: Iterable<{ event: { condition: string }; firstAtMs: number }>,
  simDaysAt: (wallMs: number) => number,
  samples: readonly ResourceSample[],
): DayTally[] {
  const days = new Map<number, DayTally>();
  const tally = (day: number): DayTally => {
    let entry = days.get(day);
    if (entry === undefined) {
      entry = { day, events: {}, journalAppendedKiB: 0 };
      days.set(day, entry);
    }
    return entry;
  };
  for (const { event, firstAtMs } of received) {
    const entry = tally(Math.floor(simDaysAt(firstAtMs)));
    entry.events[event.condition] = (entry.events[event.condition] ?? 0) + 1;
  }
  for (let index = 1; index < samples.length; index++) {
    const grown = samples[index]!.journalKiB - samples[index - 1]!.journalKiB;
    if (grown > 0) tally(Math.floor(samples[index]!.simDays)).journalAppendedKiB += grown;
  }
  return [...days.values()].sort((a, b) => a.day - b.day);
}

/** One markdown row per day: events in all, the three busiest conditions, journal appended. */
export function dayRows(tallies: readonly DayTally[]): [string, string][] {
  return tallies.map(({ day, events, journalAppendedKiB }) => {
    const busiest = Object.entries(events).sort((a, b) => b[1] - a[1]);
    const total = busiest.reduce((sum, [, count]) => sum + count, 0);
    const top = busiest.slice(0, 3).map(([condition, count]) => `${condition} ${count}`).join(', ');
    return [`day ${day}: alarm events received / journal appended`, `${total} (${top || 'none'}) / ${journalAppendedKiB.toFixed(0)} KiB`];
  });
}
