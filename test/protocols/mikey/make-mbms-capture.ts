/**
 * Records captures/mikey-mbms-kinds.pcap: sends the fixture's datagrams over UDP on loopback (127.0.0.x → port 2269)
 * while tcpdump captures on `lo`. Also records captures/mikey-all-payloads.pcap (one message per payload family).
 * Bounded: 18 datagrams in all, 10 s timeout per capture. Run as root:
 *   node --import tsx test/protocols/mikey/make-mbms-capture.ts --write
 * Without --write it does nothing (node --test may load every file under test/).
 */
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allPayloadMessages, BMSC, mbmsKindsDatagrams, mbmsKindsKeyFile, repoRoot, UE_A } from './mbms-fixture';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(src: string, dst: string, bytes: Buffer): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => { s.once('error', rej); s.bind({ address: src, port: 0 }, () => res()); });
  await new Promise<void>((res, rej) => s.send(bytes, 2269, dst, (e) => (e ? rej(e) : res())));
  s.close();
}

async function record(out: string, datagrams: { src: string; dst: string; bytes: Buffer }[]): Promise<void> {
  const tmp = `/tmp/keyscope-${path.basename(out)}`;
  const td = spawn('timeout', ['10', 'tcpdump', '-i', 'lo', '-U', '-s', '0', '-Z', 'root', '-w', tmp, 'udp and dst port 2269 and net 127.0.0.0/8'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('tcpdump did not start')), 5000);
    td.stderr.on('data', (d: Buffer) => { if (d.toString().includes('listening on')) { clearTimeout(t); res(); } });
  });
  await sleep(500);
  for (const d of datagrams) {
    await send(d.src, d.dst, d.bytes);
    await sleep(30);
  }
  await sleep(500);
  td.kill('SIGINT');
  await new Promise((r) => td.once('exit', r));
  fs.copyFileSync(tmp, out);
}

async function main(): Promise<void> {
  const root = repoRoot();
  await record(path.join(root, 'captures/mikey-mbms-kinds.pcap'), mbmsKindsDatagrams());
  await record(path.join(root, 'captures/mikey-all-payloads.pcap'), allPayloadMessages().map((m) => ({ src: BMSC, dst: UE_A, bytes: m.bytes })));
  fs.writeFileSync(path.join(root, 'captures/mikey-mbms-kinds.keys'), mbmsKindsKeyFile());
  console.log('wrote captures/mikey-mbms-kinds.pcap, .keys and captures/mikey-all-payloads.pcap');
}

if (require.main === module && process.argv.includes('--write')) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
