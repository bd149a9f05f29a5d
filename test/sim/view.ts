/**
 * A flat view of a dissected simulator capture, for tests: every HTTP message and MIKEY message with its frame,
 * time, addresses and what the Dissector (with the run's key file) said about it.
 */
import { readCapture } from '../../src/capture/reader';
import { toEpochSeconds } from '../../src/common/time';
import { Dissector } from '../../src/pipeline/dissector';
import { loadKeyFile } from '../../src/protocols/keys';
import type { MikeyAnalysis } from '../../src/protocols/mikey/tracker';
import type { HttpMessage } from '../../src/protocols/http/types';

export interface HttpItem {
  kind: 'http';
  frame: number;
  t: number;
  /** Client (UE) and server addresses of the TCP connection. */
  src: string;
  dst: string;
  message: HttpMessage;
}

export interface MikeyItem {
  kind: 'mikey';
  frame: number;
  t: number;
  src: string;
  dst: string;
  carrier: 'udp' | 'http';
  analysis: MikeyAnalysis;
}

export type Item = HttpItem | MikeyItem;

export interface CaptureView {
  items: Item[];
  frames: number;
  problems: { frame: number; code: string; severity: string }[];
}

export async function viewCapture(pcap: string, keysFile: string): Promise<CaptureView> {
  const keys = loadKeyFile(keysFile);
  const items: Item[] = [];
  const problems: CaptureView['problems'] = [];
  let frames = 0;
  const d = new Dissector((f) => {
    frames++;
    const t = toEpochSeconds(f.packet);
    const src = f.packet.ip?.src ?? '';
    const dst = f.packet.ip?.dst ?? '';
    for (const p of f.problems) problems.push({ frame: f.packet.frame, code: p.code, severity: p.severity });
    for (const h of f.http ?? []) items.push({ kind: 'http', frame: f.packet.frame, t, src, dst, message: h.message });
    for (const m of f.mikey ?? []) items.push({ kind: 'mikey', frame: f.packet.frame, t, src, dst, carrier: m.carrier, analysis: m.analysis });
  }, { keys });
  const summary = await readCapture(pcap, (fr) => d.frame(fr));
  d.finish();
  if (summary.fatal) throw new Error(summary.fatal);
  return { items, frames, problems };
}

export const isHttp = (i: Item): i is HttpItem => i.kind === 'http';
export const isMikey = (i: Item): i is MikeyItem => i.kind === 'mikey';

/** HTTP requests of a UE (by source address), optionally of one requesttype. */
export function requests(v: CaptureView, ue: string, type?: string): HttpItem[] {
  return v.items.filter(isHttp).filter((i) => i.message.kind === 'request' && i.src === ue && (!type || (i.message.uri ?? '').includes(`requesttype=${type}`)));
}

export function responses(v: CaptureView, ue: string): HttpItem[] {
  return v.items.filter(isHttp).filter((i) => i.message.kind === 'response' && i.dst === ue);
}

/** MIKEY messages of an MBMS kind sent to (or, for ACKs, from) an address. */
export function mikeyTo(v: CaptureView, ue: string, kind?: string): MikeyItem[] {
  return v.items.filter(isMikey).filter((i) => i.dst === ue && (!kind || i.analysis.mbms?.kind === kind));
}

export function acksFrom(v: CaptureView, ue: string): MikeyItem[] {
  return v.items.filter(isMikey).filter((i) => i.src === ue && i.analysis.mbms?.kind === 'verification');
}

export function header(m: HttpMessage, name: string): string | undefined {
  return m.headers.find((h) => h.name.toLowerCase() === name)?.value;
}

export function hasCredentials(m: HttpMessage): boolean {
  return (m.auth?.credentials.length ?? 0) > 0;
}

export function isStaleChallenge(m: HttpMessage): boolean {
  return m.status === 401 && /stale=true/i.test(header(m, 'www-authenticate') ?? '');
}

export function mskIdOf(i: MikeyItem): string {
  const b = i.analysis.mbms;
  return `${b?.keyDomainId}:${b?.keyGroup}:${b?.keyNumber}`;
}
