/**
 * What one channel chart draws (web/chart.js): the live page, `pumpwatch replay --html` and the
 * evaluation report all hand it this shape.
 */
export interface ChartMarker {
  atMs: number;
  /** Where on the volume axis, when known. */
  volumeMl: number | null;
  kind: 'restart' | 'raised' | 'ended' | 'onset' | 'event-end' | 'pump';
  /** Alarm priority for raised/ended markers; decides the colour (the label carries it in text). */
  priority?: string;
  label: string;
}

export interface ChartSlope {
  fromVolumeMl: number;
  fromMmHg: number;
  toVolumeMl: number;
  toMmHg: number;
  slopeMmHgPerMl: number;
  /** What the line is: the slope an alarm was raised on, or the trend of the detector's recent blocks. */
  label: string;
}

export interface ChannelSeries {
  pumpId: string;
  channel: string;
  title: string;
  /** Epoch ms, ascending. */
  tsMs: number[];
  pressureMmHg: (number | null)[];
  /** Volume delivered at each point, or null when the source has none (the volume chart is then left out). */
  volumeMl: (number | null)[] | null;
  /** The detector's learned baseline at each point (null while learning), or null when not known. */
  baselineMmHg: (number | null)[] | null;
  markers: ChartMarker[];
  slope: ChartSlope | null;
  /** Time axis origin for labels: minutes are shown relative to it when set (evaluation traces). */
  originMs?: number | null;
  /** Live charts: the last point is still being averaged (the next fetch replaces it). */
  partial?: boolean;
  /** Live charts: the oldest point the gateway still keeps; a page holding older ones drops them. */
  oldestTsMs?: number | null;
}
