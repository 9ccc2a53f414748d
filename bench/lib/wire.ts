/**
 * Just enough MQTT 3.1.1 to publish at QoS 0: CONNECT and PUBLISH, encoded once. The load
 * generator writes pre-encoded packets straight to its socket so that it costs the shared cores
 * as little as possible and the subscribers under test get the rest.
 */

function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  let value = length;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}

function utf8Field(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** CONNECT with a clean session and keep-alive off (the run is short and the link is loopback). */
export function connectPacket(clientId: string): Buffer {
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00]);
  const payload = utf8Field(clientId);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

/** A QoS 0 PUBLISH of `payload` on `topic`. */
export function publishPacket(topic: string, payload: Buffer): Buffer {
  const topicField = utf8Field(topic);
  const bodyLength = topicField.length + payload.length;
  return Buffer.concat([Buffer.from([0x30, ...remainingLength(bodyLength)]), topicField, payload]);
}

/** True once `bytes` starts with a CONNACK that accepted the connection. */
export function isConnackAccepted(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes[0] === 0x20 && bytes[3] === 0x00;
}
