import { connect } from 'mqtt';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AlarmEvent } from '../alarms/event.js';
import { systemClock } from '../clock.js';
import { loadConfigFile } from '../config/load.js';
import { startDaemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { createTopics } from '../mqtt/topics.js';
import { connectMqtt, createMqttOutput } from '../simulate/outputs.js';
import { createWard, loadScenario, paceWard, systemPaceClock } from '../simulate/index.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { ConsoleStation } from '../station/console-station.js';
import { startEmbeddedBroker } from './embedded-broker.js';

const USAGE = `Usage: npm run demo [-- --speed N] [-- --linger S] [-- --full]

Starts an embedded MQTT broker, the simulated NICU of scenarios/demo.yaml published over MQTT at
N× real time (default 60), the daemon with config/default.yaml pointed at that broker, and a console
station that prints alarms as a central station would see them. Stops S s (default 10) after the
first downstream-occlusion alarm (or after the whole scenario with --full), or on Ctrl-C.
Exit code 0 when the station saw a downstream-occlusion alarm, 1 otherwise.`;

const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { speed: { type: 'string', default: '60' }, linger: { type: 'string', default: '10' }, full: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const speed = Number(values.speed);
  const lingerMs = Number(values.linger) * 1000;
  if (!(speed > 0) || !(lingerMs >= 0)) {
    console.error(`--speed must be a positive number and --linger a number of seconds (got ${values.speed}, ${values.linger})\n\n${USAGE}`);
    return 2;
  }
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());

  const broker = await startEmbeddedBroker();
  // A journal of its own each run: alarms journaled by an earlier demo must not come back in this one.
  const journalDirectory = await mkdtemp(join(tmpdir(), 'pumpwatch-demo-'));
  const loaded = await loadConfigFile(DEFAULT_CONFIG, {
    PUMPWATCH_MQTT__URL: broker.url,
    PUMPWATCH_MQTT__PROTOCOL_VERSION: '4',
    PUMPWATCH_JOURNAL__DIRECTORY: journalDirectory,
    // The simulated pumps run N× faster than the gateway clock: their time is not a clock fault.
    PUMPWATCH_TIME__MAX_SKEW_SECONDS: '86400',
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const { config } = loaded.value;
  const scenario = await loadScenario('demo');
  if (!scenario.ok) throw new Error(scenario.problems.join('\n'));

  let firstOcclusionAt: number | undefined;
  let firstOcclusionSampleMs = 0;
  const onEvent = (event: AlarmEvent) => {
    if (event.condition !== 'downstream-occlusion' || event.event !== 'raised' || firstOcclusionAt !== undefined) return;
    firstOcclusionAt = Date.now();
    firstOcclusionSampleMs = Date.parse(event.at);
    if (values.full !== true) setTimeout(() => stop.abort(), lingerMs).unref();
  };
  const station = new ConsoleStation({ url: broker.url, protocolVersion: 4, prefix: createTopics(config).prefix, connect, print: (line) => console.log(line), onEvent });
  await station.start();
  const daemon = await startDaemon(loaded.value, {
    clock: systemClock,
    logger: createLogger('warn', 2),
    connect,
    loadSerialBinding: loadSystemSerialBinding,
  });
  const ward = createWard({ scenario: scenario.scenario });
  const output = await createMqttOutput(broker.url, 'pumps', connectMqtt, 'pumpwatch-demo-ward');
  const startedAt = Date.now();
  console.log(
    `pumpwatch demo: broker ${broker.url}; ward "${scenario.scenario.name}" (${ward.spec.pumps.length} pumps, ${ward.channels.length} channels) at ${speed}× real time.\n` +
      `A station subscribed to ${createTopics(config).prefix}/#. Ctrl-C stops.\n`,
  );
  await paceWard(ward, { speed, clock: systemPaceClock, signal: stop.signal }, (emission) => output.write(emission, JSON.stringify(emission.sample)));
  if (!stop.signal.aborted && values.full !== true && firstOcclusionAt === undefined) console.log('the scenario ended without an occlusion alarm');

  await output.close();
  await daemon.stop();
  await station.stop();
  await broker.stop();
  await rm(journalDirectory, { recursive: true, force: true });
  const seconds = ((firstOcclusionAt ?? Date.now()) - startedAt) / 1000;
  console.log(
    firstOcclusionAt === undefined
      ? '\npumpwatch demo: no downstream-occlusion alarm reached the station.'
      : `\npumpwatch demo: the station saw the first downstream-occlusion alarm ${seconds.toFixed(1)} s after the ward started; ` +
          `it was raised at ${((firstOcclusionSampleMs - ward.startMs) / 60_000).toFixed(1)} simulated minutes.`,
  );
  return firstOcclusionAt === undefined ? 1 : 0;
}

process.exitCode = await demo(process.argv.slice(2));
