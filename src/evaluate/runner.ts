import { pino } from 'pino';
import type { AlarmEvent } from '../alarms/event.js';
import type { Config } from '../config/schema.js';
import { DrugLibrary } from '../detect/drug-library.js';
import { ReplayLoop } from '../pipeline.js';
import type { SimLabel, Ward, WardSpec } from '../simulate/index.js';
import { HYDROSTATIC_MMHG_PER_CM } from '../simulate/parameters.js';
import { decodeJsonFrame } from '../telemetry/decode.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import { DetectorBank, type SweepPoint } from './sweep.js';

/** What happened on one channel, as far as scoring needs it. */
export interface ChannelLog {
  pumpId: string;
  channel: string;
  /** `[epoch ms, mL/h]` at the first sample and whenever the programmed rate changes. */
  rates: [number, number][];
  reportsPressure: boolean;
  /** Times the pump's own downstream-occlusion code appeared (rising edges). */
  pumpOcclusionMs: number[];
  /**
   * Typical nuisance on this channel's pressure, mmHg (simulated runs only): sensor noise,
   * quantisation, stick-slip or ripple, slow venous drift and limb movement, added in quadrature.
   */
  nuisanceMmHg: number | null;
  /** A vesicant drug in a sensitive care area: judged at the vesicant-line operating point. */
  vesicantLine: boolean;
}

export interface AlarmRecord {
  condition: AlarmEvent['condition'];
  pumpId: string;
  channel: string;
  priority: AlarmEvent['priority'];
  atMs: number;
  endedMs: number | null;
  /** `pressure-trend` (pumpwatch's detector) or `pump-alarm` (the pump's own alarm, relayed). */
  source: string;
  evidence: AlarmEvent['evidence'];
}

export interface RunOutcome {
  name: string;
  family: string;
  seed: number | null;
  startMs: number;
  endMs: number;
  channels: ChannelLog[];
  labels: SimLabel[];
  alarms: AlarmRecord[];
  samples: number;
  rejected: number;
  /** The simulated ward, so examples can be simulated again exactly; absent for recorded files. */
  spec: WardSpec | null;
  /** Trend alarms at each operating-curve point (`sweep.ts`), when a sweep ran. */
  sweepAlarms: AlarmRecord[][] | null;
}

export const PUMP_OCCLUSION_CODES: readonly string[] = ['OCCLUSION_DOWNSTREAM', 'DOWNSTREAM_OCCLUSION'];

function channelKey(pumpId: string, channel: string): string {
  return `${pumpId}/${channel}`;
}

/**
 * Feeds telemetry lines through the same decoder, pipeline and settable clock as `replay`, and
 * keeps what scoring needs: every alarm raised and ended, and per channel the rate history and
 * the pump's own occlusion alarms.
 */
export class TelemetryCollector {
  readonly #replay: ReplayLoop;
  readonly #channels = new Map<string, ChannelLog & { lastRate: number; occluded: boolean }>();
  readonly #alarms: AlarmRecord[] = [];
  readonly #open = new Map<string, AlarmRecord>();
  readonly #occlusionCodes: ReadonlySet<string>;
  readonly #drugs: DrugLibrary;
  readonly #bank: DetectorBank | null;
  #samples = 0;
  #rejected = 0;

  constructor(config: Config, sweep: readonly SweepPoint[] = []) {
    this.#occlusionCodes = new Set(config.detection.occlusionAlarmCodes);
    this.#drugs = new DrugLibrary(config.detection.drugLibrary, config.detection.sensitiveContext.careAreas);
    this.#bank = sweep.length > 0 ? new DetectorBank(config, sweep) : null;
    this.#replay = new ReplayLoop({ config, logger: pino({ level: 'silent' }), sinks: [{ deliver: (event) => this.#onEvent(event) }], source: 'evaluate' });
  }

  feedLine(line: string): void {
    decodeJsonFrame(
      line,
      {
        sample: (sample) => this.#onSample(sample),
        reject: (rejection) => {
          this.#rejected++;
          this.#replay.reject(rejection);
        },
      },
      { maxSamplesPerFrame: 100 },
    );
  }

  /** An already-decoded sample (the tuning harness decodes once and replays many settings). */
  feedSample(sample: TelemetrySample): void {
    this.#onSample(sample);
  }

  finish(): { channels: ChannelLog[]; alarms: AlarmRecord[]; samples: number; rejected: number; sweepAlarms: AlarmRecord[][] | null } {
    const channels = [...this.#channels.values()].map(({ lastRate: _rate, occluded: _occluded, ...log }) => log);
    return { channels, alarms: this.#alarms, samples: this.#samples, rejected: this.#rejected, sweepAlarms: this.#bank?.alarms() ?? null };
  }

  #onSample(sample: TelemetrySample): void {
    this.#samples++;
    this.#replay.sample(sample);
    this.#bank?.onSample(sample);
    const key = channelKey(sample.pumpId, sample.channel);
    let log = this.#channels.get(key);
    if (log === undefined) {
      log = { pumpId: sample.pumpId, channel: sample.channel, rates: [], reportsPressure: false, pumpOcclusionMs: [], nuisanceMmHg: null, vesicantLine: false, lastRate: Number.NaN, occluded: false };
      this.#channels.set(key, log);
    }
    if (!log.vesicantLine && sample.drug !== undefined) {
      log.vesicantLine = (this.#drugs.match(sample.drug)?.vesicant ?? false) && this.#drugs.isSensitiveCareArea(sample.careArea);
    }
    const rate = sample.rateMlPerH ?? 0;
    if (rate !== log.lastRate && sample.state === 'infusing') {
      log.rates.push([sample.ts, rate]);
      log.lastRate = rate;
    }
    if (sample.downstreamPressureMmHg !== undefined) log.reportsPressure = true;
    const occluded = sample.pumpAlarms?.some((code) => this.#occlusionCodes.has(code)) ?? false;
    if (occluded && !log.occluded) log.pumpOcclusionMs.push(sample.ts);
    log.occluded = occluded;
  }

  #onEvent(event: AlarmEvent): void {
    const key = `${event.pumpId}/${event.channel}/${event.condition}`;
    if (event.event === 'raised') {
      const record: AlarmRecord = {
        condition: event.condition,
        pumpId: event.pumpId,
        channel: event.channel,
        priority: event.priority,
        atMs: Date.parse(event.at),
        endedMs: null,
        source: typeof event.evidence['source'] === 'string' ? event.evidence['source'] : 'unknown',
        evidence: event.evidence,
      };
      this.#alarms.push(record);
      this.#open.set(key, record);
    } else if (event.event === 'ended') {
      const record = this.#open.get(key);
      if (record !== undefined) record.endedMs = Date.parse(event.at);
      this.#open.delete(key);
    }
  }
}

/** Nuisance scale of a simulated channel; see `ChannelLog.nuisanceMmHg`. */
export function channelNuisanceMmHg(spec: WardSpec, pumpId: string, channel: string): number | null {
  const pump = spec.pumps.find((candidate) => candidate.pumpId === pumpId);
  const line = pump?.channels.find((candidate) => candidate.channel === channel);
  if (pump === undefined || line === undefined) return null;
  const limbMmHg = pump.patient.limbHeightSdCm * HYDROSTATIC_MMHG_PER_CM;
  const variance =
    line.sensorNoiseMmHg ** 2 +
    line.quantisationMmHg ** 2 / 12 +
    line.stickSlipMmHg ** 2 / 3 +
    line.rippleSensorMmHg ** 2 / 2 +
    pump.patient.venousDriftSdMmHg ** 2 +
    limbMmHg ** 2;
  return Math.sqrt(variance);
}

export interface RunWardOptions {
  config: Config;
  name: string;
  family: string;
  seed: number;
  /** Operating-curve points to run alongside the configured detector. */
  sweep?: readonly SweepPoint[];
  /** Called now and then with the share of simulated time covered, 0–1. */
  onProgress?: (fraction: number) => void;
}

/** Runs a simulated ward through the pipeline, sample by sample in arrival order. */
export function runWard(ward: Ward, options: RunWardOptions): RunOutcome {
  const collector = new TelemetryCollector(options.config, options.sweep);
  const labels: SimLabel[] = [];
  let count = 0;
  for (let emission = ward.next(); emission !== undefined; emission = ward.next()) {
    collector.feedLine(JSON.stringify(emission.sample));
    if (++count % 50_000 === 0) {
      labels.push(...ward.takeLabels());
      options.onProgress?.(ward.progress);
    }
  }
  labels.push(...ward.takeLabels());
  const result = collector.finish();
  for (const log of result.channels) log.nuisanceMmHg = channelNuisanceMmHg(ward.spec, log.pumpId, log.channel);
  return {
    name: options.name,
    family: options.family,
    seed: options.seed,
    startMs: ward.startMs,
    endMs: ward.endMs,
    labels,
    spec: ward.spec,
    ...result,
  };
}
