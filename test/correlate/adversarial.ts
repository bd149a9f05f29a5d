/**
 * Adversarial captures for the correlator's state budgets, written as they are generated (never held in memory):
 * many V-flagged MSK pushes to many UEs, none ACKed, all within one ACK timeout — every delivery stays open as long
 * as it can. Real MIKEY bytes from the project's encoder. Not a test file itself; also runnable:
 * `node dist/test/correlate/adversarial.js OUT.pcap PUSHES UES`.
 */
import { createHash } from 'node:crypto';
import { PcapWriter } from '../../src/capture/pcap-writer';
import { LinkType } from '../../src/capture/types';
import { buildMskDelivery } from '../../src/protocols/mikey/encode';
import { ethernet, ipv4, udp } from '../decode/craft';

const T0 = 1_800_000_000;
const KD = Buffer.from('00f110', 'hex');
const BMSC = '127.40.0.1';

/** UE `i`'s address: 127.41.0.0/16 and up, so a /8 of loopback holds a million UEs. */
export function ueAddress(i: number): string {
  return `127.${41 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/** `pushes` MSK messages with V set, round-robin over `ues` UEs, spread over `seconds` of packet time; no ACK. */
export async function writeUnackedPushes(file: string, pushes: number, ues: number, seconds = 5): Promise<void> {
  const w = new PcapWriter(file, { linkType: LinkType.ETHERNET, nanosecond: true });
  const muk = createHash('sha256').update('adversarial muk').digest();
  const rand = createHash('sha256').update('adversarial rand').digest().subarray(0, 16);
  const msk = createHash('sha256').update('adversarial msk').digest().subarray(0, 16);
  for (let n = 0; n < pushes; n++) {
    const ue = n % ues;
    const bytes = buildMskDelivery({
      keyDomainId: KD, keyGroup: 0x0101, keyNumber: 1 + Math.floor(n / ues), muk, rand, counter: 1 + Math.floor(n / ues), csbId: 0x100000 + n,
      idi: 'bmsc.mnc001.mcc001.pub.3gppnetwork.org', idr: `ue${ue}@bsf.mnc001.mcc001.pub.3gppnetwork.org`, msk, v: true,
    });
    const frame = ethernet(0x0800, ipv4({ src: BMSC, dst: ueAddress(ue), protocol: 17 }, udp(2269, 2269, bytes)));
    const ns = Math.round((n / pushes) * seconds * 1e9);
    w.write({ tsSec: T0 + Math.floor(ns / 1e9), tsNsec: ns % 1e9, data: frame });
  }
  await w.commit();
}

if (require.main === module) {
  const [file, pushes, ues] = process.argv.slice(2);
  void writeUnackedPushes(file, Number(pushes), Number(ues));
}
