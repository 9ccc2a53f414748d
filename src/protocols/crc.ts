/**
 * Checksums of the pump protocols, computed over byte ranges so framers never copy a frame to
 * check it.
 */

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR (check "123456789" = 0x29B1). */
const CCITT_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

export function crc16CcittFalse(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CCITT_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Fresenius Base A: 0xFF minus the byte sum modulo 256. */
export function complementSum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return 0xff - (sum & 0xff);
}

const HEX_DIGITS = '0123456789ABCDEF';

/** Upper-case hex, zero-padded to `digits`: what both protocols put on the wire. */
export function toHex(value: number, digits: number): string {
  let text = '';
  for (let shift = (digits - 1) * 4; shift >= 0; shift -= 4) text += HEX_DIGITS[(value >>> shift) & 0xf];
  return text;
}

function hexDigitValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** Reads `digits` hex digits (either case) at `start`; -1 when any is not a hex digit or the range runs past the end. */
export function readHex(bytes: Uint8Array, start: number, digits: number): number {
  if (start < 0 || start + digits > bytes.length) return -1;
  let value = 0;
  for (let i = start; i < start + digits; i++) {
    const digit = hexDigitValue(bytes[i]!);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}
