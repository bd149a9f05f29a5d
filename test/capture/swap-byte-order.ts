/**
 * Test-only tool: rewrite a classic pcap file in the other byte order (editcap always writes host order).
 * Usage: node --import tsx test/capture/swap-byte-order.ts <in.pcap> <out.pcap>
 * The result is checked against tshark by test/capture/real-captures.test.ts like every other capture.
 */
import * as fs from 'node:fs';

export function swapPcapByteOrder(input: Buffer): Buffer {
  const out = Buffer.from(input);
  if (out.length < 24) throw new Error('input shorter than a pcap header');
  const magicLe = out.readUInt32LE(0);
  const magicBe = out.readUInt32BE(0);
  const isMagic = (m: number) => m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  if (!isMagic(magicLe) && !isMagic(magicBe)) throw new Error('not a classic pcap file');
  const le = isMagic(magicLe);
  const swap32 = (o: number) => out.writeUInt32BE(input.readUInt32LE(o), o);
  const swap32r = (o: number) => out.writeUInt32LE(input.readUInt32BE(o), o);
  const swap16 = (o: number) => out.writeUInt16BE(input.readUInt16LE(o), o);
  const swap16r = (o: number) => out.writeUInt16LE(input.readUInt16BE(o), o);
  const s32 = le ? swap32 : swap32r;
  const s16 = le ? swap16 : swap16r;
  s32(0);
  s16(4);
  s16(6);
  s32(8);
  s32(12);
  s32(16);
  s32(20);
  let off = 24;
  while (off + 16 <= input.length) {
    const caplen = le ? input.readUInt32LE(off + 8) : input.readUInt32BE(off + 8);
    for (let i = 0; i < 16; i += 4) s32(off + i);
    off += 16 + caplen;
  }
  if (off !== input.length) throw new Error('input ends inside a record');
  return out;
}

// Without arguments (as when `node --test dist/test/` runs every file under test/) this does nothing.
const [src, dst] = process.argv.slice(2);
if (require.main === module && src !== undefined && dst !== undefined) {
  fs.writeFileSync(dst, swapPcapByteOrder(fs.readFileSync(src)));
}
