import type { AlarmEvent } from '../alarms/event.js';
import { chartDocument, chartSlot, escapeHtml } from './assets.js';
import type { ChannelSeries } from './series.js';
import type { ChannelTraces, TraceSettings } from './trace.js';

/** A whole day at one point per 10 s: 8,640 points per channel, ≈ 170 KB of ring each. */
export const REPLAY_TRACE: TraceSettings = { historyMinutes: 24 * 60, pointSeconds: 10 };
/** More charts than this make a page nobody reads in an incident review; --channel narrows it. */
export const MAX_REPLAY_CHARTS = 40;

export interface ReplayPageInput {
  source: string;
  traces: ChannelTraces;
  events: readonly AlarmEvent[];
  /** Only these `pump` or `pump/channel` names; empty: every channel that alarmed, else every channel. */
  channels: readonly string[];
  accepted: number;
}

function wanted(filter: readonly string[], pumpId: string, channel: string): boolean {
  return filter.some((name) => name === pumpId || name === `${pumpId}/${channel}`);
}

/**
 * `pumpwatch replay --html`: one self-contained page for an incident review — each channel's
 * pressure against time and volume with what the detector learned, and what pumpwatch said when.
 */
export function replayPage(input: ReplayPageInput): string {
  const statuses = [...input.traces.statuses()];
  const alarmed = new Set(input.events.filter((event) => event.kind !== 'technical' || event.condition !== 'delivery-failure').map((event) => `${event.pumpId}/${event.channel}`));
  const chosen = statuses.filter((status) =>
    input.channels.length > 0 ? wanted(input.channels, status.pumpId, status.channel) : alarmed.size === 0 || alarmed.has(`${status.pumpId}/${status.channel}`),
  );
  const shown = chosen.slice(0, MAX_REPLAY_CHARTS);
  const series: ChannelSeries[] = shown.flatMap((status) => input.traces.series(status.pumpId, status.channel) ?? []);
  const rows = input.events
    .map(
      (event) =>
        `<tr class="pw-priority-${escapeHtml(event.priority)}"><td>${escapeHtml(event.at)}</td><td><span class="pw-badge pw-priority-${escapeHtml(event.priority)}">${escapeHtml(event.priority.toUpperCase())}</span></td><td>${escapeHtml(event.event)}</td><td>${escapeHtml(event.condition)}</td><td>${escapeHtml(event.pumpId)} / ${escapeHtml(event.channel)}</td><td>${escapeHtml(event.message)}</td></tr>`,
    )
    .join('\n');
  const omitted = chosen.length - shown.length;
  const charts = series.map((_, index) => chartSlot(index)).join('\n');
  return chartDocument({
    title: `pumpwatch replay: ${input.source}`,
    style: '.pw-replay-events td, .pw-replay-events th { padding: .2rem .4rem; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; } .pw-replay-events { border-collapse: collapse; font-size: .9rem; } .pw-charts { margin: 1.5rem 0 2.5rem; }',
    body: `<h1>pumpwatch replay</h1>
<p>${escapeHtml(input.source)}: ${input.accepted} samples, ${input.events.length} alarm events, ${statuses.length} channels. Replayed through the same detector and alarm manager as the daemon, with each sample's own time as the clock. pumpwatch is decision support: its alarms say <em>possible</em> and what to check.</p>
<h2>What pumpwatch said, and when</h2>
<table class="pw-replay-events"><thead><tr><th>sample time</th><th>priority</th><th>event</th><th>condition</th><th>pump / channel</th><th>message</th></tr></thead><tbody>
${rows === '' ? '<tr><td colspan="6">No alarm events.</td></tr>' : rows}
</tbody></table>
<h2>Channels</h2>
<p>Blue: pressure (mean per ${REPLAY_TRACE.pointSeconds} s). Dashed green: the baseline the detector learned. Purple: the slope an alarm was raised on, or the detector's recent trend. Vertical lines: learning restarts (grey, dashed), alarms raised (red, with priority in words) and ended (green, dashed).${omitted > 0 ? ` ${omitted} more channels not drawn; pick them with --channel.` : ''}</p>
${charts === '' ? '<p>No channel matched.</p>' : charts}`,
    series,
  });
}
