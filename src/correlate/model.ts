/**
 * The correlator's working state — UEs, open transactions, HTTP requests waiting for answers, MIKEY messages waiting
 * for ACKs — and the small pure helpers every room of the correlator shares. Records handed to the sinks are in
 * types.ts; these shapes never leave src/correlate.
 */
import { escapeText } from '../common/escape';
import type { PacketTime } from '../common/time';
import { digestCredentialsView, isDigest } from '../protocols/http/auth';
import type { HttpMessage } from '../protocols/http/types';
import type { KeyDeliveryTransaction, KeyRefSummary, StepKind } from './types';

export type TxState = 'requested' | 'challenged' | 'authorized' | 'awaiting-request' | 'waiting-ack' | 'done';

/** One UE: joined by address and by B-TID (Digest username, MIKEY IDr). */
export interface UeState {
  id: string;
  addresses: string[];
  btids: string[];
  /** Addresses a successful registration came from; cleared by a deregistration. */
  registeredFrom: Set<string>;
  /** The first successful registration in the capture (request and answer frames): no MSK of the capture predates it. */
  registeredAt?: { frames: number[]; time: number };
  deregistered: boolean;
  /**
   * The capture's last word on the UE's registration, when it is against one: its deregistration, or a registration
   * that failed. Evidence that an MSK request comes from an unregistered UE.
   */
  unregisteredBy?: { frames: number[]; why: string };
  /** The BM-SC sent the UE an MSK message or a trigger: it considers the UE registered. */
  contactedByBmsc: boolean;
  unregisteredReported: boolean;
  /** `kd:kg` → key numbers delivered, oldest first (at most two live), with the frame that delivered each. */
  msks: Map<string, { kn: number; frame: number }[]>;
  /** `kd:kg:kn` → the last delivery of that MSK. */
  lastDelivery: Map<string, DeliveryRef>;
  /** The open pull or solicited pull. */
  pull?: Tx;
  /** The open registration or deregistration. */
  reg?: Tx;
  trigger?: Tx;
  /** `kd:kg` the UE asked for → the last transaction that asked. */
  requestedGroups: Map<string, Tx>;
  retryAfter?: { until: number; frame: number; tx: Tx };
}

/** A transaction being built: the record the sinks get, and what the rules need to decide about it. */
export interface Tx {
  rec: KeyDeliveryTransaction;
  ue: UeState | undefined;
  state: TxState;
  open: boolean;
  /** `kd:kg` (kd may be `*`) of the request. */
  requestedGroups: Set<string>;
  deliveredGroups: Set<string>;
  refusedGroups: Set<string>;
  refusedCodes: Map<string, string>;
  pendingRequests: number;
  challengeTime?: PacketTime;
  okTime?: PacketTime;
  staleRun: number;
  deliveries: DeliveryRef[];
  firstAckDelivery?: DeliveryRef;
  httpDelivery: boolean;
  deliveryDeadlinePassed: boolean;
  /** A registration the BM-SC accepted (2xx, and no refusing ResponseCode). */
  registrationAccepted?: boolean;
}

/** An HTTP key-management request waiting for its answer. */
export interface RequestRef {
  tx: Tx;
  msg: HttpMessage;
  credentials: boolean;
  answered: boolean;
  client: string;
  server: string;
}

/** A MIKEY message to a UE (or an MTK group) that an ACK may answer. */
export interface DeliveryRef {
  tx: Tx;
  kind: 'msk' | 'trigger' | 'mtk';
  frame: number;
  time: PacketTime;
  v: boolean;
  /** An ACK is expected for it (V set on an MSK message not protected with an older MUK). */
  ackDue: boolean;
  acked: boolean;
  ackInvalid: boolean;
  /** ack-missing was reported: a later ACK is late, not counted. */
  timedOut: boolean;
  ue?: UeState;
  bmsc: string;
  group: string;
  label: string;
}

/** The two ends of a message as the UE and the BM-SC see them (the HTTP connection's for a MIKEY body). */
export interface Endpoints {
  src: string;
  dst: string;
}

export function ackPending(d: DeliveryRef): boolean {
  return d.ackDue && !d.acked && !d.ackInvalid && !d.timedOut;
}

export const secs = (t: PacketTime): number => t.tsSec + t.tsNsec / 1e9;

export function fromSecs(s: number): PacketTime {
  const tsSec = Math.floor(s);
  return { tsSec, tsNsec: Math.min(999_999_999, Math.round((s - tsSec) * 1e9)) };
}

export const hex = (n: number, w: number): string => (n >>> 0).toString(16).padStart(w, '0');

export function keyRef(kd: string | undefined, kg: number | undefined, kn: number | undefined): KeyRefSummary {
  const r: KeyRefSummary = { label: `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}:${kn === undefined ? '*' : hex(kn, 4)}` };
  if (kd !== undefined) r.keyDomainId = kd;
  if (kg !== undefined) r.keyGroup = kg;
  if (kn !== undefined) r.keyNumber = kn;
  return r;
}

export function groupOf(kd: string | undefined, kg: number | undefined): string {
  return `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}`;
}

/** `kd:kg` patterns where either side may be `*`. */
export function groupMatches(a: string, b: string): boolean {
  const [ad, ag] = a.split(':');
  const [bd, bg] = b.split(':');
  return (ad === '*' || bd === '*' || ad === bd) && (ag === '*' || bg === '*' || ag === bg);
}

export function groupDelivered(delivered: Set<string>, g: string): boolean {
  for (const d of delivered) if (groupMatches(g, d)) return true;
  return false;
}

export function stepFrames(tx: Tx, kind: StepKind): number[] {
  return tx.rec.steps.filter((s) => s.kind === kind).map((s) => s.frame);
}

/** The frame of the transaction's latest request (with or without credentials). */
export function lastRequestFrame(tx: Tx): number[] {
  const frames = stepFrames(tx, 'credentials').concat(stepFrames(tx, 'request'));
  return frames.length > 0 ? [Math.max(...frames)] : [];
}

export function header(m: HttpMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return m.headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** `requesttype` of a key-management URI (TS 33.246 Annex G; lab equipment writes `requesttype= register`). */
export function requestTypeOf(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  for (const part of uri.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === 'requesttype') return part.slice(eq + 1).trim().toLowerCase();
  }
  return undefined;
}

/** The request type an MBMS XML body implies when the URI does not say. */
export function bodyRequestType(kind: string): string | undefined {
  return kind === 'register' ? 'register' : kind === 'deregister' ? 'deregister' : kind === 'msk-request' ? 'msk-request' : undefined;
}

export function usernameOf(m: HttpMessage): string | undefined {
  for (const c of m.auth?.credentials ?? []) {
    if (!isDigest(c)) continue;
    const u = digestCredentialsView(c).username;
    // the B-TID becomes a UE label shown to people: escaped once here
    if (u) return escapeText(u, 256);
  }
  return undefined;
}

/** Upper bound on a Retry-After taken from a packet: a year. */
const MAX_RETRY_AFTER_SECONDS = 86_400 * 365;

export function retryAfterSeconds(m: HttpMessage): number | undefined {
  const v = header(m, 'retry-after');
  if (v === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v), MAX_RETRY_AFTER_SECONDS);
  const d = Date.parse(v);
  const date = header(m, 'date');
  const base = date ? Date.parse(date) : NaN;
  // an HTTP-date is only usable against the response's own Date header: packet time, not wall-clock time
  if (!Number.isNaN(d) && !Number.isNaN(base)) return Math.max(0, (d - base) / 1000);
  return undefined;
}
