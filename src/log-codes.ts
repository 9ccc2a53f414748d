/**
 * Every `PW_*` code pumpwatch logs or puts at the head of an error, with what it means and what
 * to do. Logs, metrics and tests match on the codes; docs/operations.md shows this table
 * (`npm run docs`), and a test fails when a code in the source is missing here.
 */
interface LogCodeEntry {
  /** `log`: a log line's `code` field; `error`: the head of a thrown error's message. */
  readonly kind: 'log' | 'error';
  /** The level it is logged at (errors: the level of the line that reports them). */
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly meaning: string;
  readonly action: string;
}

const NOTHING = 'Nothing; for the record.';

export const LOG_CODES = {
  PW_STARTED: { kind: 'log', level: 'info', meaning: 'The daemon is running: sources started, alarm connection connecting.', action: NOTHING },
  PW_STOPPING: { kind: 'log', level: 'info', meaning: 'A stop was requested: intake closes, alarms are flushed to the journal and broker.', action: NOTHING },
  PW_STOPPED: { kind: 'log', level: 'info', meaning: 'The daemon stopped; the line counts accepted and rejected samples.', action: NOTHING },
  PW_START_FAILED: { kind: 'log', level: 'fatal', meaning: 'The daemon could not start (configuration, journal directory, TLS files).', action: 'Read `error`; fix the file or permission it names; systemd restarts the unit.' },
  PW_CONFIG_ENV: { kind: 'log', level: 'info', meaning: 'Configuration values were set from `PUMPWATCH_*` environment variables.', action: 'Check the listed paths are meant to be overridden.' },
  PW_TLS_INSECURE: { kind: 'log', level: 'error', meaning: 'Broker certificate checks are off (`mqtt.tls.allowInsecure`): anyone on the network can pose as the broker.', action: 'Give the broker a certificate the gateway trusts and remove `allowInsecure`.' },
  PW_RELOAD_RESTARTING: { kind: 'log', level: 'info', meaning: 'SIGHUP with a valid new configuration: the daemon restarts inside the process.', action: NOTHING },
  PW_RELOAD_INVALID: { kind: 'log', level: 'error', meaning: 'SIGHUP with an invalid configuration: refused, the previous one keeps running.', action: 'Run `pumpwatch config check` on the file and fix what it lists.' },
  PW_RELOAD_FAILED: { kind: 'log', level: 'error', meaning: 'The new configuration was valid but did not start; the previous one is running again.', action: 'Read `error` (often a TLS file or broker URL) and reload again once fixed.' },
  PW_RELOAD_NOT_RUNNING: { kind: 'error', level: 'warn', meaning: 'SIGHUP arrived before the daemon had started; nothing to reload.', action: 'Reload again once `PW_STARTED` is logged.' },
  PW_WATCHDOG_ON: { kind: 'log', level: 'info', meaning: 'systemd watchdog pings are on (`WatchdogSec=`).', action: NOTHING },
  PW_WATCHDOG_WITHHELD: { kind: 'log', level: 'error', meaning: 'A watchdog ping was withheld: the event loop stalled or the detector stopped ticking.', action: 'If it persists systemd restarts the daemon; look for the stall in the logs before it.' },
  PW_WATCHDOG_RESUMED: { kind: 'log', level: 'info', meaning: 'Watchdog pings resumed after being withheld.', action: NOTHING },
  PW_SYSTEMD_NOTIFY_FAILED: { kind: 'log', level: 'warn', meaning: 'A message to systemd over `$NOTIFY_SOCKET` failed.', action: 'Check the unit has `Type=notify` and `NotifyAccess=`; see docs/operations.md.' },
  PW_OPS_HTTP_LISTENING: { kind: 'log', level: 'info', meaning: 'The metrics and health endpoints listen on the logged address.', action: NOTHING },
  PW_OPS_HTTP_LISTEN_FAILED: { kind: 'log', level: 'error', meaning: 'The metrics and health port could not be opened; pumps are still watched.', action: 'Free the port or change `ops.http.port`; Prometheus sees the target down meanwhile.' },
  PW_OPS_HTTP_FAILED: { kind: 'log', level: 'error', meaning: 'The metrics and health server failed after it started.', action: 'Read `error`; reload to restart the endpoint.' },
  PW_SAMPLE_REJECTED: { kind: 'log', level: 'warn', meaning: 'Frames or samples were refused (rate-limited summary per source and reason).', action: 'Read `detail` for what, where and which value; fix the pump mapping or the sender.' },
  PW_INGEST_PROCESS_FAILED: { kind: 'log', level: 'error', meaning: 'Processing one sample threw; the queue carried on with the next.', action: 'A defect: report it with the line (pump, channel, error).' },
  PW_OVERLOADED: { kind: 'log', level: 'warn', meaning: 'More telemetry than the gateway can process: samples queue in arrival order and, with shedding `auto`, those the gateway cannot keep up with are shed; the `overloaded` technical alarm is raised.', action: 'Reduce report rates or pumps per gateway; see docs/scaling.md.' },
  PW_OVERLOAD_CLEARED: { kind: 'log', level: 'info', meaning: 'Demand fell: every sample is processed again.', action: NOTHING },
  PW_SERIAL_OPEN: { kind: 'log', level: 'info', meaning: 'A serial port opened.', action: NOTHING },
  PW_SERIAL_OPEN_FAILED: { kind: 'log', level: 'warn', meaning: 'A serial port could not be opened; it is retried with backoff.', action: 'Check the device path (use /dev/serial/by-id), cabling and the service user\'s group.' },
  PW_SERIAL_LINK_LOST: { kind: 'log', level: 'warn', meaning: 'An open serial port closed, errored or ended, or its path vanished or now names another device (checked every second); it is reopened with backoff.', action: 'Check the cable and adapter if it repeats.' },
  PW_SERIAL_REOPEN: { kind: 'log', level: 'info', meaning: 'The next reopen attempt of a serial port is scheduled.', action: NOTHING },
  PW_SERIAL_STOPPED: { kind: 'log', level: 'info', meaning: 'A serial port was closed on stop.', action: NOTHING },
  PW_SERIAL_ALREADY_STARTED: { kind: 'error', level: 'error', meaning: 'A serial source was started twice.', action: 'A defect: report it.' },
  PW_FRAMER_MAX: { kind: 'error', level: 'error', meaning: 'A framer was built with a frame limit outside its protocol\'s.', action: 'A defect: report it.' },
  PW_MERGE_SOURCES: { kind: 'error', level: 'error', meaning: 'More finding sources than the merger supports.', action: 'A defect: report it.' },
  PW_EVAL_LABELS: { kind: 'error', level: 'error', meaning: '`pumpwatch evaluate`: a labels file has no run record.', action: 'Pass the labels file `pumpwatch simulate --labels` wrote for that telemetry.' },
  PW_MQTT_CONNECTED: { kind: 'log', level: 'info', meaning: 'Connected to the broker (`sessionPresent` says whether it kept our session).', action: NOTHING },
  PW_MQTT_DISCONNECTED: { kind: 'log', level: 'warn', meaning: 'Lost the broker; mqtt.js reconnects. Alarms wait in the journal meanwhile.', action: 'If it lasts, check the broker and the network; `/readyz` says broker down.' },
  PW_MQTT_SERVER_DISCONNECT: { kind: 'log', level: 'warn', meaning: 'The broker sent DISCONNECT (`reasonCode` says why, MQTT 5).', action: 'Look the reason code up; often a second client with our client id, or an ACL.' },
  PW_MQTT_CLIENT_ERROR: { kind: 'log', level: 'warn', meaning: 'An mqtt.js client error; repeats are summarised once a minute.', action: 'Read `error`; connection refusals also raise `PW_MQTT_CONNECT_REFUSED`.' },
  PW_MQTT_CONNECT_REFUSED: { kind: 'log', level: 'error', meaning: 'The broker refused the connection for certificates or credentials; a delivery-failure technical alarm is raised.', action: 'Fix the certificate, CA, user or password the line names; see docs/operations.md.' },
  PW_MQTT_CONNECT_ACCEPTED: { kind: 'log', level: 'info', meaning: 'The broker accepts the connection again after a refusal.', action: NOTHING },
  PW_MQTT_SESSION_LOST: { kind: 'log', level: 'warn', meaning: 'The broker kept no session for the alarm connection: resubscribed; acks sent meanwhile are gone.', action: 'Stations re-send unanswered acks; raise the broker\'s session expiry if it repeats.' },
  PW_MQTT_SESSION_UNEXPECTED: { kind: 'log', level: 'warn', meaning: 'The broker resumed a session pumpwatch asked it not to keep.', action: 'Check the broker honours clean start.' },
  PW_MQTT_STATE_REPUBLISHED: { kind: 'log', level: 'info', meaning: 'On (re)connect: online status and every active alarm\'s retained state published again.', action: NOTHING },
  PW_MQTT_SUBSCRIBED: { kind: 'log', level: 'info', meaning: 'Subscribed to the telemetry topics.', action: NOTHING },
  PW_MQTT_SUBSCRIBE_FAILED: { kind: 'log', level: 'error', meaning: 'The telemetry subscription failed.', action: 'Check the broker is reachable and the topics are valid filters.' },
  PW_MQTT_SUBSCRIBE_REFUSED: { kind: 'log', level: 'error', meaning: 'The broker refused the telemetry subscription (ACL).', action: 'Allow the gateway\'s user to read the telemetry topics.' },
  PW_MQTT_MESSAGE_HANDLER_FAILED: { kind: 'log', level: 'error', meaning: 'Handling a telemetry message threw; the next message is handled as usual.', action: 'A defect: report it with the line.' },
  PW_MQTT_TOPIC_INVALID: { kind: 'error', level: 'warn', meaning: 'A pump id, channel or condition cannot be a topic level (wildcard, separator, control character, too long).', action: 'Rename the pump or channel; the event is refused and counted, never sent.' },
  PW_MQTT_PREFIX_INVALID: { kind: 'error', level: 'error', meaning: 'The configured or derived topic prefix cannot lead MQTT topics.', action: 'Fix `mqtt.topicPrefix` or the gateway ids it is built from.' },
  PW_MQTT_PAYLOAD_TOO_LARGE: { kind: 'error', level: 'warn', meaning: 'An alarm event is larger than `delivery.maxPayloadBytes`.', action: 'Raise the limit (and the broker\'s) or report the event.' },
  PW_MQTT_PUBLISH_FAILED: { kind: 'error', level: 'warn', meaning: 'The broker refused or failed a publish; the event is retried.', action: 'Check the broker\'s ACL for the alarm topics.' },
  PW_MQTT_CONNECTION_LOST: { kind: 'error', level: 'warn', meaning: 'A publish was cut off by a lost connection; it is sent again on reconnect.', action: NOTHING },
  PW_MQTT_NOT_STARTED: { kind: 'error', level: 'warn', meaning: 'A publish was attempted before the alarm connection started.', action: 'A defect: report it.' },
  PW_MQTT_STOPPED: { kind: 'error', level: 'info', meaning: 'A publish was attempted after the alarm connection stopped; the event stays in the journal.', action: NOTHING },
  PW_MQTT_TLS_FILE: { kind: 'error', level: 'error', meaning: 'A TLS file (CA, certificate, key) could not be read.', action: 'Fix the path or permission the message names.' },
  PW_ACK_SUBSCRIBE_FAILED: { kind: 'log', level: 'warn', meaning: 'The subscription to station acks failed; it is retried on reconnect.', action: 'Check the broker is reachable.' },
  PW_ACK_SUBSCRIBE_REFUSED: { kind: 'log', level: 'error', meaning: 'The broker refused the subscription to station acks (ACL): acks cannot arrive.', action: 'Allow the gateway\'s user to read its ack topic.' },
  PW_ACK_ACCEPTED: { kind: 'log', level: 'info', meaning: 'A station acknowledged an alarm.', action: NOTHING },
  PW_ACK_IGNORED: { kind: 'log', level: 'warn', meaning: 'A station ack was ignored (unknown alarm, replay, malformed, other gateway).', action: 'Read `reason`; check the station follows docs/station-contract.md.' },
  PW_ALARM_EVENT: { kind: 'log', level: 'info', meaning: 'An alarm event was delivered to the broker.', action: NOTHING },
  PW_ALARM_EVENT_EXPIRED: { kind: 'log', level: 'warn', meaning: 'An alarm event was too old for the event stream; only its retained state was sent.', action: NOTHING },
  PW_ALARM_QUARANTINED: { kind: 'log', level: 'error', meaning: 'An alarm event the broker keeps refusing was set aside in the quarantine file; a technical alarm is raised.', action: 'Read `error`; fix the cause (ACL, size) and acknowledge the technical alarm.' },
  PW_OUTBOX_REDRIVE: { kind: 'log', level: 'info', meaning: 'Alarm events the previous run did not deliver are sent again.', action: NOTHING },
  PW_JOURNAL_OPENED: { kind: 'log', level: 'info', meaning: 'The alarm journal opened; the line counts restored alarms and undelivered events.', action: NOTHING },
  PW_JOURNAL_DURABLE: { kind: 'log', level: 'info', meaning: 'The alarm journal is durable again.', action: NOTHING },
  PW_JOURNAL_OPEN: { kind: 'log', level: 'error', meaning: 'The alarm journal could not be opened: alarms go out from memory only.', action: 'Check `journal.directory` exists and the service user can write it.' },
  PW_JOURNAL_WRITE: { kind: 'log', level: 'error', meaning: 'Writing the alarm journal failed: alarms go out from memory only.', action: 'Check the disk and `journal.directory`.' },
  PW_JOURNAL_FSYNC: { kind: 'log', level: 'error', meaning: 'fsync of the alarm journal failed: alarms go out from memory only.', action: 'Check the disk for errors.' },
  PW_JOURNAL_FULL: { kind: 'log', level: 'error', meaning: 'The alarm journal reached `journal.maxBytes` or the disk is full: alarms go out from memory only.', action: 'Free disk space or raise `journal.maxBytes`.' },
  PW_JOURNAL_FSYNC_SLOW: { kind: 'log', level: 'warn', meaning: 'fsync is too slow: alarms are sent before they are on disk.', action: 'Check the disk; a slow SD card is the usual cause.' },
  PW_JOURNAL_TORN_TAIL: { kind: 'log', level: 'warn', meaning: 'A half-written record at the end of the journal (a crash mid-write) was dropped.', action: NOTHING },
  PW_JOURNAL_CORRUPT: { kind: 'log', level: 'error', meaning: 'Damaged records in the alarm journal were skipped.', action: 'Keep the journal file for analysis; check the disk.' },
  PW_JOURNAL_COMPACTED: { kind: 'log', level: 'debug', meaning: 'The alarm journal was compacted.', action: NOTHING },
  PW_JOURNAL_SEQ_ADVANCED: { kind: 'log', level: 'warn', meaning: 'The previous run sent alarm events its journal may lack (it ran non-durable); restored alarms continue their seq past them, so a station may see a gap in seq.', action: 'Look for the PW_JOURNAL_FULL or PW_JOURNAL_WRITE before the restart; raise `journal.maxBytes` or fix the disk.' },
  PW_JOURNAL_SEQ_WRITE: { kind: 'log', level: 'warn', meaning: 'The count of alarm events the journal lacks could not be written: after a restart an alarm seq may be reissued under a new eventId.', action: 'Check the disk and `journal.directory`.' },
  PW_JOURNAL_QUARANTINE_WRITE: { kind: 'log', level: 'warn', meaning: 'A quarantined event could not be written to the quarantine file.', action: 'Check the disk and `journal.directory`.' },
  PW_DELIVERY_COMMITTED: { kind: 'error', level: 'debug', meaning: 'A transport committed an alarm event (the outcome code delivery metrics count by).', action: NOTHING },
  PW_DELIVERY_STOPPED: { kind: 'error', level: 'debug', meaning: 'A transport stopped before the event was committed; it stays in the journal for the next run.', action: NOTHING },
  PW_ALARIS_REMOTE_CTRL_SKIPPED: { kind: 'log', level: 'warn', meaning: 'An Alaris start-up list asks for REMOTE_CTRL before the serial number is known; it was skipped.', action: 'Put INST_SERIALNO before REMOTE_CTRL in the port\'s `startup` list.' },
  PW_ALARIS_REPLY: { kind: 'log', level: 'info', meaning: 'An Alaris pump answered a start-up query; the line holds the command and value.', action: NOTHING },
  PW_ALARIS_UNKNOWN_MODE: { kind: 'log', level: 'warn', meaning: 'An Alaris mode word is not in the mode table: its samples report state unknown.', action: 'Record a session with `pumpwatch capture` and send it in (docs/protocols.md).' },
  PW_FRESENIUS_MODULE_VARIABLES: { kind: 'log', level: 'info', meaning: 'A Fresenius module reported which variables it serves.', action: NOTHING },
  PW_FRESENIUS_READ_REFUSED: { kind: 'log', level: 'warn', meaning: 'A Fresenius module refused a read; the session reads fewer variables from it.', action: 'Check the module model; send a capture if pressure is among those refused.' },
  PW_FRESENIUS_SESSION_CLOSED: { kind: 'log', level: 'info', meaning: 'The Fresenius base or a module closed the session; it is reopened.', action: 'If it repeats, check the cable and the rack\'s remote-control setting.' },
  PW_FRESENIUS_UNKNOWN_MODE: { kind: 'log', level: 'warn', meaning: 'A Fresenius mode code is not in the mode table: its samples report state unknown.', action: 'Record a session with `pumpwatch capture` and send it in (docs/protocols.md).' },
  PW_PCD04_CONNECTED: { kind: 'log', level: 'info', meaning: 'Connected to the IHE PCD-04 Alert Manager.', action: NOTHING },
  PW_PCD04_DISCONNECTED: { kind: 'log', level: 'warn', meaning: 'The Alert Manager connection closed; it is reopened and unacknowledged reports are sent again.', action: 'If it persists, check the Alert Manager and `pcd04.host`/`pcd04.port`.' },
  PW_PCD04_SOCKET_ERROR: { kind: 'log', level: 'warn', meaning: 'The Alert Manager connection failed.', action: 'Read `error`; check `pcd04.host`/`pcd04.port` and the network path.' },
  PW_PCD04_CONNECTION_LOST: { kind: 'error', level: 'warn', meaning: 'A PCD-04 report was in flight when the connection closed; it is sent again.', action: NOTHING },
  PW_PCD04_ACK_TIMEOUT: { kind: 'log', level: 'warn', meaning: 'The Alert Manager did not acknowledge a report in `pcd04.ackTimeoutSeconds`; the gateway reconnects and sends it again.', action: 'Check the Alert Manager is processing; raise the timeout if it is only slow.' },
  PW_PCD04_REFUSED: { kind: 'error', level: 'warn', meaning: 'The Alert Manager refused a report (AE/AR); it is quarantined after the retries.', action: 'Read the reason and text the Alert Manager gave; check its configuration for this gateway.' },
  PW_PCD04_MESSAGE_INVALID: { kind: 'error', level: 'error', meaning: 'An alarm event could not be made into a valid PCD-04 message; it is quarantined.', action: 'A defect: report it with the event.' },
  PW_PCD04_STRAY_ACK: { kind: 'log', level: 'warn', meaning: 'A frame from the Alert Manager acknowledged nothing in flight; it was ignored.', action: 'If it repeats, the Alert Manager may be answering another sender\'s control ids.' },
  PW_PCD04_PARTIAL_FRAME: { kind: 'log', level: 'warn', meaning: 'The Alert Manager closed in the middle of an MLLP frame.', action: NOTHING },
  PW_PCD04_KEEPALIVE_MISSED: { kind: 'log', level: 'error', meaning: 'The Alert Manager did not acknowledge the keep-alive: the link is treated as failing.', action: 'Check the Alert Manager is up and reachable.' },
  PW_WEB_LOGIN_REFUSED: { kind: 'log', level: 'warn', meaning: 'The ward page was opened with a wrong access token.', action: 'If unexpected, find who holds the old link; rotate the token in the credentials directory.' },
  PW_ALARIS_FORBIDDEN_COMMAND: { kind: 'error', level: 'error', meaning: 'A command outside the read-only query list was about to be sent to an Alaris pump; it was refused.', action: 'Remove it from the port\'s `startup` list: pumpwatch only queries pumps.' },
  PW_WEB_NO_TRACES: { kind: 'error', level: 'fatal', meaning: 'The ward page was composed over a pipeline that keeps no chart history.', action: 'A defect: report it with the configuration (`ops.http.web`).' },
  PW_CHANNEL_RETIRED: { kind: 'log', level: 'info', meaning: 'A station retired a channel (the pump is gone): its alarms ended and it is no longer watched until heard from again.', action: NOTHING },
  PW_COMMAND_IGNORED: { kind: 'log', level: 'warn', meaning: 'A station command was refused (rate-limited summary per verdict); `detail` says why.', action: 'Check the sending station: schema, gateway id, retained flag or unknown channel.' },
  PW_AUDIT_WRITE: { kind: 'log', level: 'warn', meaning: 'The audit trail (commands, retirements, alarm events) could not be written; alarms are still delivered.', action: 'Check free space and permissions of `journal.directory`.' },
} as const satisfies Record<`PW_${string}`, LogCodeEntry>;

export type LogCode = keyof typeof LOG_CODES;

export function isLogCode(value: unknown): value is LogCode {
  return typeof value === 'string' && Object.hasOwn(LOG_CODES, value);
}
