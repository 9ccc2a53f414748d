/**
 * CRC-16/CCITT-FALSE as the four upper-case hex digits the public Alaris sources append, written
 * here from the algorithm (not imported from src/), so tests that build a public frame from a
 * source's format string do not check pumpwatch against itself.
 */
export function crcOf(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'latin1')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** `!body|CRC\r`, the Alaris frame around a body. */
export const alarisFrame = (body: string): string => `!${body}|${crcOf(body)}\r`;
