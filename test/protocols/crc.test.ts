import { describe, expect, it } from 'vitest';
import { complementSum8, crc16CcittFalse, readHex, toHex } from '../../src/protocols/crc.js';

const ascii = (text: string) => Buffer.from(text, 'latin1');

describe('crc16CcittFalse', () => {
  it('gives the catalogued check value 0x29B1 for "123456789"', () => {
    expect(crc16CcittFalse(ascii('123456789'))).toBe(0x29b1);
  });

  // The frames OpenICE's Asena driver hard-codes (`!INF|4961\r` and friends) are public test vectors.
  it.each([
    ['INF', 0x4961],
    ['COMMS_PROTOCOL', 0xe8da],
    ['INST_SERIALNO', 0x457d],
    ['INF_VTBI', 0x8456],
    ['REMOTE_CTRL^DISABLED', 0xef95],
    ['INF_VTBI^ACTIV^11.000^ml^STOP', 0x4433],
  ])('matches the CRC OpenICE sends with %s', (body, crc) => {
    expect(crc16CcittFalse(ascii(body))).toBe(crc);
  });

  it('covers only the given range', () => {
    expect(crc16CcittFalse(ascii('!INF|'), 1, 4)).toBe(0x4961);
  });
});

describe('complementSum8', () => {
  it('is 0xFF minus the byte sum modulo 256', () => {
    // '1' + 'D' + 'C' = 0x31 + 0x44 + 0x43 = 0xB8 → 0xFF − 0xB8 = 0x47
    expect(complementSum8(ascii('1DC'))).toBe(0x47);
  });

  it('wraps sums above 255', () => {
    expect(complementSum8(Uint8Array.of(0xff, 0x02))).toBe(0xfe);
  });
});

describe('hex helpers', () => {
  it('writes zero-padded upper-case hex', () => {
    expect(toHex(0xa, 4)).toBe('000A');
  });

  it('reads either case and refuses anything else', () => {
    expect(readHex(ascii('x4a6F'), 1, 4)).toBe(0x4a6f);
    expect(readHex(ascii('4G'), 0, 2)).toBe(-1);
    expect(readHex(ascii('4'), 0, 2)).toBe(-1);
  });
});
