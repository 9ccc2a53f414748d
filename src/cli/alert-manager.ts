import { parseArgs } from 'node:util';
import { ALERT_MANAGER_MODES, TestAlertManager, type AlertManagerMode } from '../pcd04/alert-manager.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const ALERT_MANAGER_USAGE = `Usage: pumpwatch alert-manager --port N [--host ADDR] [--mode ack|refuse|hang|drop|half]
                               [--refuse-code CE|CR|AE|AR] [--refuse-rate R] [--seed N]

A bench IHE ACM Alert Manager: listens for PCD-04 Report Alert messages over MLLP, answers each
with ACK^R40^ACK (MSA|CA), and prints one JSON line per message received (control id, copies,
whether a re-send had the same content, the answer, phase, state, priority and the message).
Try a gateway's pcd04: settings against it before the hospital's Alert Manager is connected.

  --mode ack      acknowledge (default)      --mode refuse  answer --refuse-code (default CE)
  --mode hang     never answer               --mode drop    close the connection on receipt
  --mode half     send half an ACK frame, then close
  --refuse-rate R refuse this share of messages in ack mode (0..1), seeded by --seed

Exit codes: 0 stopped, 1 the port could not be opened, 2 usage error.`;

export async function alertManagerCommand(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        mode: { type: 'string' },
        'refuse-code': { type: 'string' },
        'refuse-rate': { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    writeLine(io.stderr, `pumpwatch alert-manager: ${error instanceof Error ? error.message : String(error)}\n\n${ALERT_MANAGER_USAGE}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    writeLine(io.stdout, ALERT_MANAGER_USAGE);
    return EXIT.ok;
  }
  const port = Number(values.port);
  const mode = (values.mode ?? 'ack') as AlertManagerMode;
  const refuseRate = values['refuse-rate'] === undefined ? 0 : Number(values['refuse-rate']);
  const refuseCode = values['refuse-code'] ?? 'CE';
  const problems = [
    ...(Number.isInteger(port) && port >= 0 && port <= 65_535 ? [] : [`--port must be 0..65535, got ${values.port ?? 'nothing'}`]),
    ...(ALERT_MANAGER_MODES.includes(mode) ? [] : [`--mode must be one of ${ALERT_MANAGER_MODES.join(', ')}, got ${mode}`]),
    ...(refuseRate >= 0 && refuseRate <= 1 ? [] : [`--refuse-rate must be 0..1, got ${values['refuse-rate']}`]),
    ...(['CE', 'CR', 'AE', 'AR'].includes(refuseCode) ? [] : [`--refuse-code must be CE, CR, AE or AR, got ${refuseCode}`]),
  ];
  if (problems.length > 0) {
    for (const problem of problems) writeLine(io.stderr, `pumpwatch alert-manager: ${problem}`);
    return EXIT.usage;
  }
  const manager = new TestAlertManager({
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    mode,
    refuseCode,
    refuseRate,
    seed: values.seed === undefined ? 1 : Number(values.seed),
    onReport: (report) => {
      const { message, ...rest } = report;
      writeLine(io.stdout, JSON.stringify({ ...rest, message: message.split('\r') }));
    },
  });
  try {
    await manager.start();
  } catch (error) {
    writeLine(io.stderr, `pumpwatch alert-manager: cannot listen on port ${port}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failure;
  }
  writeLine(io.stderr, `alert manager listening on ${values.host ?? '127.0.0.1'}:${manager.port} (mode ${mode})`);
  await new Promise<void>((resolve) => {
    if (io.stopSignal.aborted) resolve();
    else io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
  await manager.stop();
  return EXIT.ok;
}
