import { connect, type IClientOptions } from 'mqtt';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { buildClientOptions } from '../mqtt/client-options.js';
import { createTopics } from '../mqtt/topics.js';
import { ConsoleStation } from '../station/console-station.js';
import { formatActiveAlarms } from '../station/format.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const WATCH_USAGE = `Usage: pumpwatch watch --config FILE [--station NAME] [--list]
       pumpwatch watch --url URL --prefix PREFIX [--protocol 5|4] [--station NAME] [--list]

The reference station (docs/station-contract.md): shows a gateway's active alarms, rebuilt from
its retained topics, follows every alarm event, shows the gateway offline when its Last Will
fires, and acknowledges alarms. With --config it reads the broker and topic prefix from the
gateway's configuration file.

Commands on standard input:
  list            the active alarms, numbered
  ack N           acknowledge alarm number N of the last list (or: ack ALARM_ID)
  ack all         acknowledge every active alarm
  quit            stop

  --station NAME  who acknowledges (default: pumpwatch-watch)
  --list          print the active alarms and the gateway state once, then exit

Exit codes: 0 ok, 1 broker unreachable (--list), 2 usage error, 3 invalid configuration.`;

/** Retained messages follow the SUBACK closely; --list waits this long for them. */
const RETAINED_SETTLE_MS = 500;
const LIST_CONNECT_TIMEOUT_MS = 5_000;

interface Target {
  url: string;
  protocolVersion: 4 | 5;
  prefix: string;
  clientOptions: IClientOptions;
}

async function resolveTarget(values: { config?: string; url?: string; prefix?: string; protocol?: string }, io: CliIo): Promise<Target | number> {
  if (values.config !== undefined) {
    const loaded = await loadConfigFile(values.config, io.env);
    if (!loaded.ok) {
      for (const problem of loaded.problems) writeLine(io.stderr, `${values.config}: ${problem}`);
      return EXIT.configInvalid;
    }
    const { config, secrets } = loaded.value;
    // The telemetry role's options are a plain subscriber's (no Last Will); the station sets its own client id.
    const clientOptions = await buildClientOptions({ config, secrets, role: 'telemetry', credentialsDirectory: io.env.CREDENTIALS_DIRECTORY });
    return { url: config.mqtt.url, protocolVersion: config.mqtt.protocolVersion, prefix: createTopics(config).prefix, clientOptions };
  }
  if (values.url === undefined || values.prefix === undefined) return EXIT.usage;
  const protocolVersion = values.protocol === undefined || values.protocol === '5' ? 5 : values.protocol === '4' ? 4 : undefined;
  if (protocolVersion === undefined) return EXIT.usage;
  return { url: values.url, protocolVersion, prefix: values.prefix, clientOptions: {} };
}

export async function watchCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        url: { type: 'string' },
        prefix: { type: 'string' },
        protocol: { type: 'string' },
        station: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    writeLine(io.stderr, `pumpwatch watch: ${(error as Error).message}\n\n${WATCH_USAGE}`);
    return EXIT.usage;
  }
  const { values } = parsed;
  if (values.help === true) {
    writeLine(io.stdout, WATCH_USAGE);
    return EXIT.ok;
  }
  const target = await resolveTarget(values, io);
  if (typeof target === 'number') {
    if (target === EXIT.usage) writeLine(io.stderr, WATCH_USAGE);
    return target;
  }
  const quiet = values.list === true;
  const station = new ConsoleStation({
    url: target.url,
    protocolVersion: target.protocolVersion,
    prefix: target.prefix,
    connect,
    clientOptions: target.clientOptions,
    stationId: values.station ?? 'pumpwatch-watch',
    print: (line) => {
      if (!quiet) writeLine(io.stdout, line);
    },
  });
  if (values.list === true) return listOnce(station, io);

  writeLine(io.stdout, `watching ${target.prefix} on ${target.url}; commands: list, ack N, ack all, quit`);
  await station.start();
  // Answer only once the retained state is in: a list before it would show 0 alarms that are active.
  await new Promise((resolve) => setTimeout(resolve, RETAINED_SETTLE_MS));
  let listed = station.activeAlarms();
  writeLine(io.stdout, formatActiveAlarms(listed, station.gatewayState));
  const stopped = new Promise<void>((resolve) => {
    if (io.stopSignal.aborted) resolve();
    io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
    const lines = createInterface({ input: io.stdin, terminal: false });
    lines.on('line', (line) => {
      const [command, argument] = line.trim().split(/\s+/);
      if (command === 'quit' || command === 'q') {
        lines.close();
        resolve();
      } else if (command === 'list' || command === 'l') {
        listed = station.activeAlarms();
        writeLine(io.stdout, formatActiveAlarms(listed, station.gatewayState));
      } else if (command === 'ack' && argument !== undefined) {
        const ids = argument === 'all' ? station.activeAlarms().map((alarm) => alarm.alarmId) : [listed[Number(argument) - 1]?.alarmId ?? argument];
        for (const alarmId of ids) writeLine(io.stdout, station.acknowledge(alarmId) ? `ack sent for ${alarmId}` : `no active alarm ${alarmId}`);
      } else if (command !== undefined && command !== '') {
        writeLine(io.stdout, 'commands: list, ack N, ack ALARM_ID, ack all, quit');
      }
    });
  });
  await stopped;
  await station.stop();
  return EXIT.ok;
}

async function listOnce(station: ConsoleStation, io: CliIo): Promise<number> {
  const subscribed = await Promise.race([station.start().then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), LIST_CONNECT_TIMEOUT_MS).unref())]);
  if (!subscribed) {
    writeLine(io.stderr, 'pumpwatch watch: could not reach the broker');
    await station.stop();
    return EXIT.failure;
  }
  await new Promise((resolve) => setTimeout(resolve, RETAINED_SETTLE_MS));
  writeLine(io.stdout, formatActiveAlarms(station.activeAlarms(), station.gatewayState));
  await station.stop();
  return EXIT.ok;
}
