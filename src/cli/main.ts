import { alertManagerCommand } from './alert-manager.js';
import { captureCommand } from './capture.js';
import { configCommand } from './config-check.js';
import { emulatePumpCommand } from './emulate-pump.js';
import { evaluateCommand } from './evaluate.js';
import { historyCommand } from './history.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { replayCommand } from './replay.js';
import { daemonCommand } from './run.js';
import { simulateCommand } from './simulate.js';
import { PUMPWATCH_VERSION } from '../version.js';
import { watchCommand } from './watch.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { summary: string; run: Command }> = {
  run: { summary: 'run --config FILE       run the daemon', run: daemonCommand },
  replay: { summary: 'replay FILE|-          run recorded telemetry (or --protocol P a capture), print alarm events as JSONL', run: replayCommand },
  capture: { summary: 'capture ...            record a raw session with a real pump on a serial port', run: captureCommand },
  simulate: { summary: 'simulate ...           simulated pump telemetry to files, MQTT or a serial port', run: (argv, io) => simulateCommand(argv, io) },
  evaluate: { summary: 'evaluate ...           score the detector on labelled simulated wards', run: evaluateCommand },
  config: { summary: 'config check FILE      validate a configuration file', run: configCommand },
  history: { summary: 'history --since TIME   alarm events, acks and retired channels from the audit trail (csv or jsonl)', run: historyCommand },
  watch: { summary: 'watch --config FILE     show active alarms as a station would, and acknowledge them', run: watchCommand },
  'alert-manager': { summary: 'alert-manager --port N a bench IHE PCD-04 Alert Manager over MLLP (acks, or refuses/hangs/drops)', run: alertManagerCommand },
  'emulate-pump': { summary: 'emulate-pump ...       play a pump on a serial port in its protocol (tests, demos)', run: emulatePumpCommand },
};

export const USAGE = `pumpwatch — infusion-pump telemetry watch for ward gateways (decision support only)

Usage: pumpwatch <command> [options]     (pumpwatch <command> --help for details; pumpwatch --version)

Commands:
${Object.values(COMMANDS)
  .map((command) => `  ${command.summary}`)
  .join('\n')}

Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid configuration, 4 input unreadable.`;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    writeLine(name === undefined ? io.stderr : io.stdout, USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    writeLine(io.stdout, `pumpwatch ${PUMPWATCH_VERSION}`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    writeLine(io.stderr, `pumpwatch: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  return command.run(rest, io);
}

/** Process entry: wires the real process into the CLI and turns signals into a stop request. */
export async function main(argv: string[]): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runCli(argv, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      stopSignal: stop.signal,
      onReload(listener) {
        process.on('SIGHUP', listener);
        return () => process.off('SIGHUP', listener);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
