import { scopeOf, type AlarmEvent } from '../alarms/event.js';

const PRIORITY_MARK: Record<AlarmEvent['priority'], string> = { high: '!!!', medium: '!! ', low: '!  ' };

function stateTags(event: AlarmEvent): string {
  const state = event.state;
  if (state === undefined || event.event === 'ended') return '';
  const tags = [
    state.paused === true ? `paused until ${state.pausedUntil ?? '?'}` : '',
    state.latched ? 'latched' : '',
    state.acknowledged ? 'acknowledged' : '',
    state.escalations > 0 ? `escalated ×${state.escalations}` : '',
  ].filter((tag) => tag !== '');
  return tags.length === 0 ? '' : ` (${tags.join(', ')})`;
}

/** The ward roster's place, when the event carries one. */
function bedOf(event: AlarmEvent): string {
  if (event.bed === undefined) return '';
  return ` bed ${event.bed}${event.patientRef === undefined ? '' : ` (${event.patientRef})`}`;
}

/** Where an alarm is: ward/pump/channel (and bed), or ward/gateway <id>/part for the gateway's own alarms. */
function placeOf(event: AlarmEvent): string {
  return scopeOf(event) === 'gateway' ? `${event.ward}/gateway ${event.gatewayId}/${event.channel}` : `${event.ward}/${event.pumpId}/${event.channel}${bedOf(event)}`;
}

/** One console line per alarm event, as a central station would show it. */
export function formatAlarmLine(event: AlarmEvent): string {
  const evidence = Object.entries(event.evidence)
    .filter(([, value]) => value !== null && value !== '')
    .map(([key, value]) => `${key}=${typeof value === 'number' ? Number(value.toFixed(2)) : String(value)}`)
    .join(' ');
  const where = placeOf(event);
  const durability = event.durable === false ? ' [not journaled]' : '';
  const head = `${event.at} ${PRIORITY_MARK[event.priority]} ${event.event.toUpperCase().padEnd(12)} ${event.condition} [${event.priority} ${event.kind}] ${where}${stateTags(event)}${durability}`;
  return event.event === 'ended' ? head : `${head}\n    ${event.message}${evidence === '' ? '' : `\n    evidence: ${evidence}`}`;
}

export function formatStatusLine(gatewayId: string, state: string, reason: string | undefined): string {
  return `— gateway ${gatewayId} is ${state}${reason === undefined ? '' : ` (${reason})`}`;
}

/** The numbered list `pumpwatch watch` shows; the numbers are what `ack N` refers to. */
export function formatActiveAlarms(alarms: readonly AlarmEvent[], gatewayState: string): string {
  const lines = [`active alarms: ${alarms.length} (gateway ${gatewayState})`];
  alarms.forEach((alarm, index) => {
    lines.push(
      `  ${String(index + 1).padStart(2)}. ${PRIORITY_MARK[alarm.priority]} ${alarm.condition} [${alarm.priority}] ${placeOf(alarm)} since ${alarm.raisedAt ?? alarm.at}${stateTags(alarm)}  id ${alarm.alarmId}`,
    );
  });
  return lines.join('\n');
}
