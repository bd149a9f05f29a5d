/**
 * Replaying a capture onto `lo` at a set rate (tcpreplay), for packet rates beyond what the simulator generates.
 *
 * Loopback only, enforced here and not left to whoever made the file: before anything is replayed, every frame is
 * walked and every IP address in it — outer headers, GTP-U inner packets, IP-in-IP — must be in 127.0.0.0/8 (IPv4)
 * or be ::1 (IPv6). A frame the walk cannot see through (a fragment, ARP, an IPv6 extension header, ICMP, which
 * quotes other packets' headers, an unknown link type) is refused too: "could not check" is treated as "not
 * loopback". Only Ethernet frames are accepted, since they are what tcpreplay puts on `lo` (an Ethernet-type
 * device on Linux).
 */
import type { ChildProcess } from 'node:child_process';
import { readCapture } from '../capture/reader';
import type { CaptureFrame } from '../capture/types';
import { exited, killGroup, spawnTied } from '../common/tied-process';

/** The one interface a capture is ever replayed onto. */
export const REPLAY_INTERFACE = 'lo';
/** UDP port of GTP-U (TS 29.281); GTP-U-looking payloads on other UDP ports are checked as well (see below). */
const GTPU_PORT = 2152;
/** Tunnels nested deeper than this are refused rather than followed (a frame is finite, but stay bounded). */
export const MAX_CHECK_DEPTH = 4;
/** GTP-U extension headers followed at most before the frame is refused. */
const MAX_GTPU_EXTENSIONS = 16;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_IPIP = 4;
const PROTO_IPV6 = 41;
const LINKTYPE_ETHERNET = 1;

/** Why a frame is refused: the frame number, and an address or the part that could not be checked. */
export interface LoopbackViolation {
  frame: number;
  reason: string;
}

export type LoopbackCheck = { ok: true; frames: number } | { ok: false; violation: LoopbackViolation; frames: number } | { ok: false; fatal: string; frames: number };

function ipv4Text(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function isIpv6Loopback(b: Buffer, off: number): boolean {
  for (let i = 0; i < 15; i++) if (b[off + i] !== 0) return false;
  return b[off + 15] === 1;
}

function ipv6Text(b: Buffer, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
  return parts.join(':');
}

/**
 * The IP packet at `off` (up to `end`) and whatever it carries: undefined when every address is loopback, or why not.
 * `where` names the layer for the message ("inner" inside GTP-U).
 */
function checkIp(b: Buffer, off: number, end: number, depth: number, where: string): string | undefined {
  if (depth > MAX_CHECK_DEPTH) return `tunnels nested deeper than ${MAX_CHECK_DEPTH}`;
  if (off >= end) return `no ${where}IP header`;
  const version = b[off] >> 4;
  let proto: number;
  let payload: number;
  let payloadEnd: number;
  if (version === 4) {
    const ihl = (b[off] & 0x0f) * 4;
    if (ihl < 20 || off + ihl > end) return `${where}IPv4 header cut short`;
    for (const a of [off + 12, off + 16]) if (b[a] !== 127) return `${where}IPv4 address ${ipv4Text(b, a)} is not in 127.0.0.0/8`;
    const flagsOffset = b.readUInt16BE(off + 6);
    // a fragment's payload cannot be walked on its own: refuse rather than guess what it carries
    if ((flagsOffset & 0x3fff) !== 0) return `${where}IPv4 fragment (its payload cannot be checked)`;
    proto = b[off + 9];
    payload = off + ihl;
    payloadEnd = Math.min(end, off + b.readUInt16BE(off + 2));
  } else if (version === 6) {
    if (off + 40 > end) return `${where}IPv6 header cut short`;
    for (const a of [off + 8, off + 24]) if (!isIpv6Loopback(b, a)) return `${where}IPv6 address ${ipv6Text(b, a)} is not ::1`;
    proto = b[off + 6];
    payload = off + 40;
    payloadEnd = Math.min(end, payload + b.readUInt16BE(off + 4));
  } else return `${where}IP version ${version}`;
  if (proto === PROTO_TCP) return undefined;
  if (proto === PROTO_IPIP || proto === PROTO_IPV6) return checkIp(b, payload, payloadEnd, depth + 1, 'tunnelled ');
  if (proto !== PROTO_UDP) return `${where}IP protocol ${proto} (only TCP, UDP and GTP-U are checked through)`;
  if (payload + 8 > payloadEnd) return `${where}UDP header cut short`;
  const sport = b.readUInt16BE(payload);
  const dport = b.readUInt16BE(payload + 2);
  return checkGtpU(b, payload + 8, payloadEnd, depth, sport === GTPU_PORT || dport === GTPU_PORT);
}

/**
 * A UDP payload that is (or looks like) a GTP-U G-PDU: the inner packet is checked. On port 2152 anything that is
 * not a well-formed GTPv1-U header is refused; on other ports a payload that parses as a G-PDU carrying IP is
 * checked too (a tunnel on a non-standard port must not smuggle addresses through), and anything else passes.
 */
function checkGtpU(b: Buffer, off: number, end: number, depth: number, onGtpPort: boolean): string | undefined {
  const looksLikeGtp = off + 8 <= end && (b[off] & 0xf0) === 0x30 && b[off + 1] === 0xff;
  if (!looksLikeGtp) {
    if (!onGtpPort) return undefined;
    // GTP-U signalling (echo, error indication) carries no IP packet; a G-PDU that does not parse is refused
    if (off + 8 <= end && (b[off] & 0xf0) === 0x30 && b[off + 1] !== 0xff && b[off + 1] !== 26) return undefined;
    return 'GTP-U on port 2152 that cannot be parsed (or an error indication, which carries addresses)';
  }
  let p = off + 8;
  if ((b[off] & 0x07) !== 0) {
    if (p + 4 > end) return 'GTP-U optional fields cut short';
    let next = b[p + 3];
    p += 4;
    for (let n = 0; next !== 0; n++) {
      if (n >= MAX_GTPU_EXTENSIONS || p >= end) return 'GTP-U extension headers too many or cut short';
      const len = b[p] * 4;
      if (len === 0 || p + len > end) return 'GTP-U extension header with a bad length';
      next = b[p + len - 1];
      p += len;
    }
  }
  if (p >= end) return undefined; // an empty G-PDU carries nothing
  if (!onGtpPort && (b[p] >> 4 !== 4 && b[p] >> 4 !== 6)) return undefined;
  return checkIp(b, p, end, depth + 1, 'GTP-U inner ');
}

/** One frame: undefined when it is loopback-only, or the reason it is not. */
export function checkFrameLoopbackOnly(frame: Pick<CaptureFrame, 'linkType' | 'data' | 'capturedLength'>): string | undefined {
  if (frame.linkType !== LINKTYPE_ETHERNET) return `link type ${frame.linkType} (only Ethernet frames are replayed onto lo)`;
  const b = frame.data;
  const end = Math.min(b.length, frame.capturedLength);
  if (end < 14) return 'Ethernet header cut short';
  let off = 12;
  let type = b.readUInt16BE(off);
  for (let tags = 0; VLAN_TAGS.has(type); tags++) {
    if (tags >= MAX_CHECK_DEPTH || off + 6 > end) return 'VLAN tags too many or cut short';
    off += 4;
    type = b.readUInt16BE(off);
  }
  off += 2;
  if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return checkIp(b, off, end, 0, '');
  return `EtherType 0x${type.toString(16).padStart(4, '0')} (only IPv4 and IPv6 are replayed)`;
}

/** Walk every frame of a capture file; stops at the first frame that is not loopback-only. */
export async function checkCaptureLoopbackOnly(path: string): Promise<LoopbackCheck> {
  let violation: LoopbackViolation | undefined;
  const abort = new AbortController();
  const summary = await readCapture(
    path,
    (f) => {
      if (violation !== undefined) return;
      const reason = checkFrameLoopbackOnly(f);
      if (reason !== undefined) {
        violation = { frame: f.number, reason };
        abort.abort();
      }
    },
    { signal: abort.signal },
  );
  if (violation !== undefined) return { ok: false, violation, frames: summary.frames };
  if (summary.fatal !== undefined) return { ok: false, fatal: summary.fatal, frames: summary.frames };
  if (summary.stopped) return { ok: false, fatal: 'the capture is damaged: the walk stopped before its end', frames: summary.frames };
  return { ok: true, frames: summary.frames };
}

export class ReplayRefused extends Error {}

export interface ReplayOptions {
  file: string;
  /** Packets per second (tcpreplay --pps); omitted: as fast as possible (--topspeed). */
  pps?: number;
  /** Packets sent at most (tcpreplay --limit). */
  limit?: number;
  /** Seconds the replay may take at most (tcpreplay --duration); the child is also killed a little after it. */
  durationSeconds: number;
}

export interface ReplayResult {
  /** tcpreplay's "Actual: N packets" (undefined when its output did not say). */
  packetsSent?: number;
  /** tcpreplay's "Failed packets" (send errors, e.g. a full socket buffer). */
  packetsFailed?: number;
  /** tcpreplay's "Rated: … pps". */
  ratedPps?: number;
  seconds: number;
  exitCode: number | null;
  output: string;
}

/** Grace after the replay's own duration bound before the child is killed. */
export const REPLAY_KILL_GRACE_MS = 10_000;

/** Parse tcpreplay's closing statistics. */
export function parseTcpreplayOutput(text: string): Pick<ReplayResult, 'packetsSent' | 'packetsFailed' | 'ratedPps'> {
  const out: Pick<ReplayResult, 'packetsSent' | 'packetsFailed' | 'ratedPps'> = {};
  const actual = /Actual:\s+(\d+)\s+packets/.exec(text);
  if (actual) out.packetsSent = Number(actual[1]);
  const failed = /Failed packets:\s+(\d+)/.exec(text);
  if (failed) out.packetsFailed = Number(failed[1]);
  const rated = /Rated:.*?,\s*([\d.]+)\s+pps/.exec(text);
  if (rated) out.ratedPps = Number(rated[1]);
  return out;
}

/**
 * Replay a capture onto lo with tcpreplay (a tied child: it dies with this process), after checking every frame is
 * loopback-only. Throws ReplayRefused when the check fails: nothing is sent then.
 */
export async function replayOnLoopback(opts: ReplayOptions): Promise<ReplayResult> {
  const check = await checkCaptureLoopbackOnly(opts.file);
  if (!check.ok) {
    throw new ReplayRefused(
      'violation' in check
        ? `refusing to replay ${opts.file}: frame ${check.violation.frame}: ${check.violation.reason}`
        : `refusing to replay ${opts.file}: ${check.fatal}`,
    );
  }
  const args = [`--intf1=${REPLAY_INTERFACE}`, opts.pps !== undefined ? `--pps=${opts.pps}` : '--topspeed', `--duration=${Math.ceil(opts.durationSeconds)}`];
  if (opts.limit !== undefined) args.push(`--limit=${opts.limit}`);
  args.push(opts.file);
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawnTied('tcpreplay', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new ReplayRefused(`cannot start tcpreplay: ${(err as Error).message}`);
  }
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const guard = setTimeout(() => killGroup(child), opts.durationSeconds * 1000 + REPLAY_KILL_GRACE_MS);
  const failed = await Promise.race([exited(child).then(() => undefined), spawnError]);
  clearTimeout(guard);
  if (failed) throw new ReplayRefused(`cannot start tcpreplay (install it: scripts/install-system-deps.sh): ${failed.message}`);
  return { ...parseTcpreplayOutput(output), seconds: (performance.now() - started) / 1000, exitCode: child.exitCode, output };
}
