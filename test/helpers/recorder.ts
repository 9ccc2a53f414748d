import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';

export interface RecordedMessage {
  topic: string;
  payload: Buffer;
  text: string;
  /** True when the broker sent it as a stored retained message (on subscribe). */
  retain: boolean;
  qos: number;
  /** MQTT 5 publish properties (message expiry, …) as the broker forwarded them. */
  properties: Record<string, unknown>;
  /** Position in arrival order, for "after this point" waits. */
  index: number;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Only consider messages with at least this index. */
  fromIndex?: number;
  description?: string;
}

/**
 * A subscriber that records everything it receives, for tests that watch what a station would
 * see. Reusable by fault-injection tests: `waitFor` checks what already arrived, then what comes.
 */
export interface Recorder {
  readonly messages: readonly RecordedMessage[];
  readonly client: MqttClient;
  on(topic: string): RecordedMessage[];
  waitFor(predicate: (message: RecordedMessage) => boolean, options?: WaitOptions): Promise<RecordedMessage>;
  /**
   * Resolves once a marker published after subscribing has come back. The broker queues stored
   * retained messages when it handles SUBSCRIBE, so whatever was retained has arrived by then;
   * this turns "a new subscriber sees nothing" into a check without sleeps.
   */
  barrier(): Promise<void>;
  stop(): Promise<void>;
}

export interface RecorderOptions {
  url: string;
  protocolVersion: 4 | 5;
  topics: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 5_000;

export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const id = randomBytes(4).toString('hex');
  const barrierTopic = `pwtest/_barrier/${id}`;
  const client = await connectAsync(options.url, { clientId: `pwtest-recorder-${id}`, protocolVersion: options.protocolVersion, reconnectPeriod: 0 });
  const messages: RecordedMessage[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, text: payload.toString('utf8'), retain: packet.retain, qos: packet.qos, properties: { ...packet.properties }, index: messages.length });
    for (const waiter of waiters) waiter();
  });
  await client.subscribeAsync([...options.topics, barrierTopic], { qos: 1 });
  let barriers = 0;

  const waitFor = (predicate: (message: RecordedMessage) => boolean, waitOptions: WaitOptions = {}): Promise<RecordedMessage> => {
    const fromIndex = waitOptions.fromIndex ?? 0;
    const find = () => messages.find((message) => message.index >= fromIndex && predicate(message));
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    const timeoutMs = waitOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = find();
        if (match === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(match);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        const seen = messages.map((message) => `${message.topic}${message.retain ? ' (retained)' : ''}: ${message.text.slice(0, 120)}`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${waitOptions.description ?? 'a message'}; saw:\n${seen.join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
    });
  };

  return {
    messages,
    client,
    on: (topic) => messages.filter((message) => message.topic === topic),
    waitFor,
    async barrier() {
      const marker = `barrier-${++barriers}`;
      await client.publishAsync(barrierTopic, marker, { qos: 1 });
      await waitFor((message) => message.topic === barrierTopic && message.text === marker, { description: `barrier ${marker}` });
    },
    async stop() {
      await client.endAsync();
    },
  };
}

/**
 * Deletes every retained message under `prefix`, so a test leaves a shared broker as it found it.
 */
export async function clearRetainedUnder(url: string, protocolVersion: 4 | 5, prefix: string): Promise<void> {
  const recorder = await startRecorder({ url, protocolVersion, topics: [`${prefix}/#`] });
  try {
    await recorder.barrier();
    const retainedTopics = new Set(recorder.messages.filter((message) => message.retain && message.payload.byteLength > 0).map((message) => message.topic));
    for (const topic of retainedTopics) await recorder.client.publishAsync(topic, '', { qos: 1, retain: true });
  } finally {
    await recorder.stop();
  }
}
