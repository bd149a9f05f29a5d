/**
 * One measured run, in its own process so that its peak RSS is its own: `walk` (bare record walk, the
 * runtime's ceiling) or `keyscope` (the full dissect pipeline in summary mode: read, decode, reassemble,
 * HTTP/Digest, MIKEY; nothing printed per frame). Prints one JSON line.
 */
import * as fs from 'node:fs';
import { readCapture } from '../src/capture/reader';
import { Dissector } from '../src/pipeline/dissector';

async function walk(path: string): Promise<{ packets: number; bytes: number }> {
  // classic little-endian pcap only: the generator writes that
  let carry: Buffer = Buffer.alloc(0);
  let packets = 0;
  let bytes = 0;
  let headerDone = false;
  for await (const chunk of fs.createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let off = 0;
    if (!headerDone) {
      if (buf.length < 24) {
        carry = buf;
        continue;
      }
      off = 24;
      headerDone = true;
    }
    while (off + 16 <= buf.length) {
      const caplen = buf.readUInt32LE(off + 8);
      if (off + 16 + caplen > buf.length) break;
      off += 16 + caplen;
      packets++;
    }
    carry = buf.subarray(off);
    buf = carry;
  }
  return { packets, bytes };
}

async function keyscope(path: string): Promise<{ packets: number; bytes: number; mikey: number; http: number; problems: number }> {
  const dissector = new Dissector(() => {});
  const summary = await readCapture(path, (f) => dissector.frame(f));
  dissector.finish();
  if (summary.fatal) throw new Error(summary.fatal);
  return { packets: summary.frames, bytes: summary.bytes, mikey: dissector.stats.mikey, http: dissector.stats.http, problems: dissector.stats.problems };
}

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2);
  const start = process.hrtime.bigint();
  const result = mode === 'walk' ? await walk(path) : await keyscope(path);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ mode, seconds, maxRssKiB: process.resourceUsage().maxRSS, ...result }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
