import type { AlarmEvent } from '../alarms/event.js';

const PRIORITY_MARK: Record<AlarmEvent['priority'], string> = { high: '!!!', medium: '!! ', low: '!  ' };

/** One console line per alarm event, as a central station would show it. */
export function formatAlarmLine(event: AlarmEvent): string {
  const evidence = Object.entries(event.evidence)
    .filter(([, value]) => value !== null && value !== '')
    .map(([key, value]) => `${key}=${typeof value === 'number' ? Number(value.toFixed(2)) : String(value)}`)
    .join(' ');
  const where = `${event.ward}/${event.pumpId}/${event.channel}`;
  const head = `${event.at} ${PRIORITY_MARK[event.priority]} ${event.event.toUpperCase().padEnd(12)} ${event.condition} [${event.priority} ${event.kind}] ${where}`;
  return event.event === 'ended' ? head : `${head}\n    ${event.message}${evidence === '' ? '' : `\n    evidence: ${evidence}`}`;
}
