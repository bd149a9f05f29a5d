/**
 * Records captures/mikey-mbms-kinds.pcap: sends the fixture's datagrams over UDP on loopback (127.0.0.x → port 2269)
 * while tcpdump captures on `lo`. Also records captures/mikey-all-payloads.pcap (one message per payload family).
 * Bounded: 18 datagrams in all, 10 s timeout per capture. Run as root:
 *   node --import tsx test/protocols/mikey/make-mbms-capture.ts --write
 * Without --write it does nothing (node --test may load every file under test/).
 */
import { killGroup, spawn } from '../../support/proc';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { allPayloadMessages, BMSC, mbmsKindsDatagrams, mbmsKindsKeyFile, repoRoot, UE_A } from './mbms-fixture';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(src: string, dst: string, bytes: Buffer, port = 2269): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => { s.once('error', rej); s.bind({ address: src, port: 0 }, () => res()); });
  await new Promise<void>((res, rej) => s.send(bytes, port, dst, (e) => (e ? rej(e) : res())));
  s.close();
}

async function record(
  out: string,
  datagrams: { src: string; dst: string; bytes: Buffer; port?: number }[],
  filter = 'udp and dst port 2269 and net 127.0.0.0/8',
  extra?: () => Promise<void>,
): Promise<void> {
  const tmp = `/tmp/keyscope-${path.basename(out)}`;
  const td = spawn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-Z', 'root', '-w', tmp, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('tcpdump did not start')), 5000);
    td.stderr?.on('data', (d: Buffer) => { if (d.toString().includes('listening on')) { clearTimeout(t); res(); } });
  });
  await sleep(500);
  for (const d of datagrams) {
    await send(d.src, d.dst, d.bytes, d.port);
    await sleep(30);
  }
  if (extra) await extra();
  await sleep(500);
  killGroup(td, 'SIGINT');
  await new Promise((r) => td.once('exit', r));
  fs.copyFileSync(tmp, out);
}

async function main(): Promise<void> {
  const root = repoRoot();
  await record(path.join(root, 'captures/mikey-mbms-kinds.pcap'), mbmsKindsDatagrams());
  await record(path.join(root, 'captures/mikey-all-payloads.pcap'), allPayloadMessages().map((m) => ({ src: BMSC, dst: UE_A, bytes: m.bytes })));
  // transport variants: MIKEY on a non-default UDP port (--mikey-port 4000) and in HTTP bodies (variant B: the MSK
  // message in the 200 OK, the ACK in a later POST, both application/mikey)
  const [d1, ack1] = mbmsKindsDatagrams();
  await record(path.join(root, 'captures/mikey-transport-variants.pcap'),
    [{ src: d1.src, dst: d1.dst, bytes: d1.bytes, port: 4000 }, { src: ack1.src, dst: ack1.dst, bytes: ack1.bytes, port: 4000 }],
    '(udp and dst port 4000) or (tcp and port 18099)', () => httpVariantB(d1.bytes, ack1.bytes));
  fs.writeFileSync(path.join(root, 'captures/mikey-mbms-kinds.keys'), mbmsKindsKeyFile());
  console.log('wrote captures/mikey-mbms-kinds.pcap (+ .keys), mikey-all-payloads.pcap, mikey-transport-variants.pcap');
}

/** A BM-SC answering a POST with the MIKEY MSK message as the 200 OK body, then a POST carrying the ACK. */
async function httpVariantB(delivery: Buffer, ack: Buffer): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/keymanagement?requesttype=msk-request')) {
        res.writeHead(200, { 'Content-Type': 'application/mikey', 'Content-Length': delivery.length });
        res.end(delivery);
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(18099, '127.0.0.1', () => r()));
  const post = (p: string, body: Buffer, type: string) => new Promise<void>((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port: 18099, method: 'POST', path: p, localAddress: '127.0.0.2', agent: false,
      headers: { 'Content-Type': type, 'Content-Length': body.length } }, (r) => { r.resume(); r.on('end', () => res()); });
    req.on('error', rej);
    req.end(body);
  });
  const xml = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>APEQ</keyDomainID><MSKID>AAEAAg==</MSKID></MSK></mbmsMSKRequest>');
  await post('/keymanagement?requesttype=msk-request', xml, 'application/mbms-msk+xml');
  await sleep(50);
  await post('/keymanagement?requesttype=msk-ack', ack, 'application/mikey');
  await sleep(50);
  await new Promise((r) => server.close(r));
}

if (require.main === module && process.argv.includes('--write')) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
