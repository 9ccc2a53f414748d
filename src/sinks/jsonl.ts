import type { Writable } from 'node:stream';
import type { AlarmEvent } from '../alarms/event.js';
import type { AlarmSink } from '../alarms/manager.js';

/** Alarm events as JSON lines: replay's output, and an audit trail anywhere else. */
export class JsonlAlarmWriter implements AlarmSink {
  readonly #output: Writable;
  #written = 0;

  constructor(output: Writable) {
    this.#output = output;
  }

  get writtenCount(): number {
    return this.#written;
  }

  deliver(event: AlarmEvent): void {
    this.#output.write(`${JSON.stringify(event)}\n`);
    this.#written++;
  }
}
