/**
 * How many packets the kernel's capture ring holds, as libpcap lays it out on Linux in immediate mode — the mode the cap
 * and tcpdump engines use (cap turns it on itself; keyscope runs tcpdump with --immediate-mode so frames reach the
 * screen at once). dumpcap, as Wireshark runs it, does not: its ring packs packets (dumpcap-engine.ts).
 *
 * Why this matters: in immediate mode libpcap uses a TPACKET_V2 ring, one fixed-size slot per packet, the slot sized
 * for the largest frame the interface can carry, capped by the snapshot length. On an Ethernet interface (MTU 1500)
 * that is a 2 KiB slot, and the default 32 MiB buffer holds ~16 k packets. On lo (MTU 65536) a slot is 128 KiB, and
 * the same buffer holds only ~256 packets: 5 ms at 50 k packets/s, so any scheduling delay of the capturing process
 * loses packets in the kernel, before keyscope sees them (with cap, uncounted). Measured on lo with the live bench
 * (docs/live-capture-loss.md): at 50 k packets/s, --engine tcpdump lost 8.7 % with tcpdump's default snapshot length
 * and 0 with `-s 2048` (the mix's largest frame is 1 040 bytes), on the same loaded machine. cap's own snapshot
 * length is fixed at 65535 in the addon, so only -B changes its ring.
 *
 * The layout follows libpcap's pcap-linux.c (create_ring, TPACKET_V2): frame = align16(mac offset + min(snaplen,
 * MTU + link header + VLAN tag)); block = the page size doubled until a frame fits; as many frames per block as fit;
 * as many blocks as the buffer holds. The figures are estimates (libpcap's version and the link type shift them a
 * little); the note that uses them says "about".
 */
import { CAP_MAX_SNAPLEN, sysNetNumber } from './live';

/** Bytes in front of the packet data in a TPACKET_V2 slot (header, sockaddr_ll, alignment, VLAN reserve), as libpcap sets its mac offset for a 14-byte link header. */
const TPACKET2_MAC_OFFSET = 70;
/** libpcap's allowance over the MTU for the link header and a VLAN tag. */
const LINK_HEADER_ALLOWANCE = 18;
/** Linux's page size on the platforms keyscope supports (the ring's blocks are pages doubled). */
const PAGE_SIZE = 4096;
/** A ring holding fewer packets than this gets the note at the start of `live` (≈ 40 ms at 100 k packets/s). */
export const RING_NOTE_MIN_PACKETS = 4096;

export interface RingEstimate {
  /** Bytes of ring per packet (slot, or block share). */
  slotBytes: number;
  /** Packets the whole buffer holds. */
  packets: number;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** The immediate-mode ring's slot size and capacity for an interface MTU, a snapshot length and a buffer size. */
export function immediateRingEstimate(mtu: number, snaplen: number, bufferBytes: number): RingEstimate {
  const frameLen = Math.min(snaplen, mtu + LINK_HEADER_ALLOWANCE);
  const frame = align16(TPACKET2_MAC_OFFSET + frameLen);
  let block = PAGE_SIZE;
  while (block < frame) block *= 2;
  const perBlock = Math.floor(block / frame);
  const blocks = Math.floor(bufferBytes / block);
  return { slotBytes: block / perBlock, packets: blocks * perBlock };
}

/** The interface's MTU from /sys (Linux); undefined where it cannot be read. */
export function interfaceMtu(device: string): number | undefined {
  const mtu = sysNetNumber(device, 'mtu');
  return mtu !== undefined && Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
}

function kib(n: number): string {
  return `${Math.round(n / 1024)} KiB`;
}

/**
 * The note `live` prints at the start when the ring is small for the interface (lo, jumbo MTUs): how many packets it
 * holds, why, and what holds more. undefined when the ring is large enough or the MTU is unknown.
 */
export function smallRingNote(opts: { device: string; engine: string; snaplen: number; bufferBytes: number; mtu?: number }): string | undefined {
  // dumpcap does not run libpcap in immediate mode: its ring packs packets (dumpcap-engine.ts)
  if (opts.engine === 'dumpcap') return undefined;
  const mtu = opts.mtu ?? interfaceMtu(opts.device);
  if (mtu === undefined) return undefined;
  const ringSnaplen = opts.engine === 'tcpdump' ? opts.snaplen : CAP_MAX_SNAPLEN;
  const ring = immediateRingEstimate(mtu, ringSnaplen, opts.bufferBytes);
  if (ring.packets >= RING_NOTE_MIN_PACKETS) return undefined;
  const better = immediateRingEstimate(mtu, 2048, opts.bufferBytes).packets;
  const remedy =
    opts.engine === 'tcpdump'
      ? `--engine dumpcap (no immediate mode: its ring packs packets; frames come up to 0.25 s late), a -s just above the largest frame (-s 2048: about ${better} packets; longer frames are cut) or a larger -B`
      : `--engine dumpcap (no immediate mode: its ring packs packets; frames come up to 0.25 s late), --engine tcpdump with a -s just above the largest frame (-s 2048: about ${better} packets; longer frames are cut), or a larger -B (cap's snapshot length is fixed at ${CAP_MAX_SNAPLEN})`;
  return (
    `the kernel's capture ring holds only about ${ring.packets} packets here (immediate mode gives each packet a ${kib(ring.slotBytes)} slot ` +
    `for the ${mtu}-byte MTU, in a ${kib(opts.bufferBytes)} buffer): at high rates packets are lost there, before keyscope sees them. ` +
    `To hold more: ${remedy}`
  );
}
