import { describe, expect, it } from 'vitest';
import { createSystemdNotifier, watchdogIntervalFromEnv, type ExecFile } from '../../src/ops/systemd-notify.js';
import { captureLog } from '../helpers/log-capture.js';
import { notifySocketMissingReason, startNotifySocket } from '../helpers/notify-socket.js';

interface Call {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  finish: (error?: Error) => void;
}

/** Records each systemd-notify call; a call finishes when the test says so (or at once with `auto`). */
function recordingExec(auto = true) {
  const calls: Call[] = [];
  const execFile: ExecFile = (file, args, options, callback) => {
    const call: Call = { file, args, env: options.env, finish: (error) => callback(error ?? null) };
    calls.push(call);
    if (auto) call.finish();
  };
  return { calls, execFile };
}

const ENV = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000' };

describe('createSystemdNotifier', () => {
  it('does nothing at all when no service manager listens (NOTIFY_SOCKET unset)', async () => {
    const { calls, execFile } = recordingExec();
    const notifier = createSystemdNotifier({ env: { WATCHDOG_USEC: '20000000' }, pid: 1, execFile, logger: captureLog().logger });
    await notifier.ready('running');
    expect([notifier.active, notifier.watchdogIntervalMs, await notifier.watchdog(), calls.length]).toEqual([false, undefined, false, 0]);
  });

  it('sends READY=1 with a one-line STATUS through the systemd-notify command', async () => {
    const { calls, execFile } = recordingExec();
    const notifier = createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: captureLog().logger });
    await notifier.ready('watching 2 sources;\n  alarms to broker');
    expect(calls.map((call) => [call.file, ...call.args])).toEqual([['systemd-notify', 'READY=1', 'STATUS=watching 2 sources; alarms to broker']]);
  });

  it('passes its environment (NOTIFY_SOCKET) to the command', async () => {
    const { calls, execFile } = recordingExec();
    await createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: captureLog().logger }).stopping('bye');
    expect(calls[0]?.env.NOTIFY_SOCKET).toBe('/run/systemd/notify');
  });

  it('sends STOPPING=1, RELOADING=1 and WATCHDOG=1 as sd_notify assignments', async () => {
    const { calls, execFile } = recordingExec();
    const notifier = createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: captureLog().logger });
    await notifier.reloading('reloading');
    await notifier.watchdog();
    await notifier.stopping('stopping');
    expect(calls.map((call) => call.args[0])).toEqual(['RELOADING=1', 'WATCHDOG=1', 'STOPPING=1']);
  });

  it('drops a watchdog ping while an earlier message is still being sent, instead of piling up processes', async () => {
    const { calls, execFile } = recordingExec(false);
    const notifier = createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: captureLog().logger });
    const first = notifier.watchdog();
    const second = await notifier.watchdog();
    calls[0]?.finish();
    expect([await first, second, calls.length]).toEqual([true, false, 1]);
  });

  it('sends messages one at a time, in order', async () => {
    const { calls, execFile } = recordingExec(false);
    const notifier = createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: captureLog().logger });
    const ready = notifier.ready('up');
    const status = notifier.status('still up');
    await Promise.resolve();
    const startedBeforeFirstFinished = calls.length;
    calls[0]?.finish();
    await ready;
    calls[1]?.finish();
    await status;
    expect([startedBeforeFirstFinished, calls.map((call) => call.args[0])]).toEqual([1, ['READY=1', 'STATUS=still up']]);
  });

  it('logs a failing command once per distinct error and never throws', async () => {
    const log = captureLog();
    const execFile: ExecFile = (_file, _args, _options, callback) => callback(new Error('spawn systemd-notify ENOENT'));
    const notifier = createSystemdNotifier({ env: ENV, pid: 1, execFile, logger: log.logger });
    const sent = [await notifier.watchdog(), await notifier.watchdog(), await notifier.watchdog()];
    expect([sent, log.withCode('PW_SYSTEMD_NOTIFY_FAILED').length]).toEqual([[false, false, false], 1]);
  });
});

describe('watchdogIntervalFromEnv', () => {
  it('pings at half of WatchdogSec', () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '20000000' }, 42)).toBe(10_000);
  });

  it('is off without WATCHDOG_USEC', () => {
    expect(watchdogIntervalFromEnv({}, 42)).toBeUndefined();
  });

  it('is off when WATCHDOG_PID names another process', () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
  });

  it('is on when WATCHDOG_PID names this process', () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '42' }, 42)).toBe(2000);
  });
});

describe.skipIf(notifySocketMissingReason !== undefined)('the real systemd-notify binary', () => {
  it('delivers READY=1 and WATCHDOG=1 to the notify socket and returns once receipt is confirmed', async () => {
    const socket = await startNotifySocket();
    try {
      const log = captureLog();
      const notifier = createSystemdNotifier({ env: { ...process.env, NOTIFY_SOCKET: socket.path }, pid: process.pid, logger: log.logger });
      await notifier.ready('watching 1 source');
      const pinged = await notifier.watchdog();
      expect(socket.messages.filter((message) => !message.startsWith('BARRIER=1'))).toEqual(['READY=1\nSTATUS=watching 1 source', 'WATCHDOG=1']);
      expect([pinged, log.withCode('PW_SYSTEMD_NOTIFY_FAILED')]).toEqual([true, []]);
    } finally {
      await socket.stop();
    }
  });
});
