/**
 * The correlator's working state — UEs, open transactions, HTTP requests waiting for answers, MIKEY messages waiting
 * for ACKs — and the small pure helpers every room of the correlator shares. Records handed to the sinks are in
 * types.ts; these shapes never leave src/correlate.
 */
import { escapeText } from '../common/escape';
import { ownString } from '../common/own-string';
import type { PacketTime } from '../common/time';
import { digestCredentialsView, isDigest } from '../protocols/http/auth';
import { header } from '../protocols/http/names';
import type { HttpMessage } from '../protocols/http/types';
import { LIMITS } from './options';
import type { Timer } from './timers';
import type { KeyDeliveryTransaction, KeyRefSummary, StepKind } from './types';

export type TxState = 'requested' | 'challenged' | 'authorized' | 'awaiting-request' | 'waiting-ack' | 'done';

/** One UE: joined by address and by B-TID (Digest username, MIKEY IDr). */
export interface UeState {
  id: string;
  addresses: string[];
  btids: string[];
  /** Addresses a successful registration came from; cleared by a deregistration. Shared empty until the first (ownSet). */
  registeredFrom: ReadonlySet<string>;
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
  msks: ReadonlyMap<string, { kn: number; frame: number }[]>;
  /** `kd:kg:kn` → the last delivery of that MSK. */
  lastDelivery: ReadonlyMap<string, DeliveryRef>;
  /** The open pull or solicited pull. */
  pull?: Tx;
  /** The open registration or deregistration. */
  reg?: Tx;
  trigger?: Tx;
  /** `kd:kg` the UE asked for → what became of the last request for it. */
  requestedGroups: ReadonlyMap<string, RequestedGroup>;
  retryAfter?: { until: number; frames: number[]; txId: string };
}

/**
 * Most UEs never register in the capture, and many are only pushed to: their maps and sets stay the shared empty
 * ones until the first entry (a UE is a budgeted item, see docs/diagnostics.md "State and memory"). The shared empty
 * collections refuse writes, so a missed ownMap()/ownSet() fails loudly instead of filling every UE at once.
 */
class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(key: K, value: V): this {
    if (sealed.has(this)) throw new Error('internal: write to a shared empty map (use ownMap)');
    return super.set(key, value);
  }
}
class SharedEmptySet<T> extends Set<T> {
  override add(value: T): this {
    if (sealed.has(this)) throw new Error('internal: write to a shared empty set (use ownSet)');
    return super.add(value);
  }
}
const sealed = new WeakSet<object>();
const EMPTY_MAP = new SharedEmptyMap<never, never>();
const EMPTY_SET = new SharedEmptySet<never>();
sealed.add(EMPTY_MAP);
sealed.add(EMPTY_SET);

interface UeMaps {
  msks: Map<string, { kn: number; frame: number }[]>;
  lastDelivery: Map<string, DeliveryRef>;
  requestedGroups: Map<string, RequestedGroup>;
}

/** A new UE with every collection the shared empty one. */
export function newUe(id: string): UeState {
  return {
    id, addresses: [], btids: [], registeredFrom: EMPTY_SET, deregistered: false, contactedByBmsc: false, unregisteredReported: false,
    msks: EMPTY_MAP, lastDelivery: EMPTY_MAP, requestedGroups: EMPTY_MAP,
    registeredAt: undefined, unregisteredBy: undefined, pull: undefined, reg: undefined, trigger: undefined, retryAfter: undefined,
  };
}

/** The UE's own map in `ue[key]`, made on its first write. */
export function ownMap<K extends keyof UeMaps>(ue: UeState, key: K): UeMaps[K] {
  const cur = ue[key] as unknown;
  if (cur !== EMPTY_MAP) return cur as UeMaps[K];
  const m = new Map() as UeMaps[K];
  (ue as unknown as Record<K, UeMaps[K]>)[key] = m;
  return m;
}

/** The UE's own set of registration addresses, made on its first write. */
export function ownRegisteredFrom(ue: UeState): Set<string> {
  if (ue.registeredFrom === EMPTY_SET) ue.registeredFrom = new Set<string>();
  return ue.registeredFrom as Set<string>;
}

/**
 * A key group a UE asked for: the transaction while it is open, then only what the UE's end-of-life check needs
 * (so a closed transaction is not kept alive by its UE).
 */
export interface RequestedGroup {
  tx?: Tx;
  txId: string;
  /** Epoch seconds of the request's transaction start. */
  start: number;
  /** The transaction's frames (the first few): the evidence no-valid-msk cites. */
  frames: number[];
  /** ResponseCode of the BM-SC's refusal of this group, if it refused it. */
  refusedCode?: string;
  /** The BM-SC answered 200 OK to the request. */
  ok: boolean;
  /** How the transaction ended (undefined while open). */
  closedBy?: KeyDeliveryTransaction['closedBy'];
}

/** A transaction being built: the record the sinks get, and what the rules need to decide about it. */
export interface Tx {
  rec: KeyDeliveryTransaction;
  ue: UeState | undefined;
  state: TxState;
  open: boolean;
  /** `kd:kg` (kd may be `*`) of the request, distinct, in order. Read-only here: addGroup() writes it. */
  requestedGroups: GroupList;
  deliveredGroups: GroupList;
  /** Groups the BM-SC refused (a ResponseCode other than 200) → that ResponseCode. */
  refused: ReadonlyMap<string, string>;
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
  /** Deadlines that belong to this transaction: cancelled when it closes. */
  timers: Timer[];
}

/** An HTTP key-management request waiting for its answer (what the rules need of it, not the message). */
export interface RequestRef {
  tx: Tx;
  /** The request's last frame and its time. */
  frame: number;
  time: PacketTime;
  /** `METHOD URI`, escaped and shortened for messages. */
  label: string;
  credentials: boolean;
  answered: boolean;
  client: string;
  server: string;
}

/**
 * A MIKEY message to a UE (or an MTK group) that an ACK may answer. The index of these outlives transactions, so it
 * holds its transaction only while that is open (`tx`), then just its id.
 */
export interface DeliveryRef {
  tx?: Tx;
  txId: string;
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
  /** The UE's id (its primary address). */
  ueId?: string;
  /** The message's IDr (the B-TID), which its ACK must repeat. */
  idr?: string;
  bmsc: string;
  group: string;
  label: string;
}

/** The two ends of a message as the UE and the BM-SC see them (the HTTP connection's for a MIKEY body). */
export interface Endpoints {
  src: string;
  dst: string;
}

/**
 * Most transactions are never refused a group: they share the write-refusing empty map of the UEs until their first
 * refusal (addRefusal).
 */
export const NO_REFUSALS: ReadonlyMap<string, string> = EMPTY_MAP;

/**
 * A transaction's key groups (requested, delivered): distinct, in the order they came. Most transactions name one
 * group and many none, and a pull is held until its delivery deadline: an exact array while the list is short (an
 * empty one is NO_ENTRIES), a Set past EXACT_UP_TO entries (a delivered list has no bound) — a Set per list cost
 * ≈ 75 B more than a one-entry array, twice per pull (issue #14 round 6).
 */
export type GroupList = readonly string[] | ReadonlySet<string>;

function groupArray(l: GroupList): l is readonly string[] {
  return Array.isArray(l);
}

export function groupCount(l: GroupList): number {
  return groupArray(l) ? l.length : l.size;
}

export function addGroup(tx: Tx, which: 'requestedGroups' | 'deliveredGroups', g: string): void {
  const cur = tx[which];
  if (groupArray(cur)) {
    if (cur.includes(g)) return;
    tx[which] = cur.length < EXACT_UP_TO ? appendExact(cur, g) : new Set(cur).add(g);
  } else if (!cur.has(g)) (cur as Set<string>).add(g);
}

export function addRefusal(tx: Tx, g: string, code: string): void {
  tx.refused = tx.refused === NO_REFUSALS ? new Map([[g, code]]) : (tx.refused as Map<string, string>).set(g, code);
}

/**
 * Push onto an array held in `owner[key]`: up to EXACT_UP_TO entries the array is replaced by
 * one of exactly the slots it needs, not grown in place — a push grows it by at least 16 slots, and most of these
 * lists (a transaction's steps, frames, deadlines, deliveries, keys; a UE's addresses) end with a few entries while
 * their owner lives long enough to be copied and promoted, slack and all. Owners must not keep other references to
 * the array.
 */
export function pushOne<O, K extends keyof O>(owner: O, key: K, value: O[K] extends readonly (infer T)[] ? T : never): void {
  const arr = owner[key] as unknown as unknown[];
  const n = arr.length;
  if (n === 0) owner[key] = [value] as unknown as O[K];
  else if (n < EXACT_UP_TO) owner[key] = appendExact(arr, value) as unknown as O[K];
  else arr.push(value);
}

/**
 * A copy of `arr` with `value` after its entries, in an array of exactly that many slots. A loop into `new Array(n)`:
 * concat() does the same 4–5× slower (its spreadable checks), a spread reserves 16 slots more.
 */
export function appendExact<T>(arr: readonly T[], value: T): T[] {
  const n = arr.length;
  const out = new Array<T>(n + 1);
  for (let i = 0; i < n; i++) out[i] = arr[i];
  out[n] = value;
  return out;
}

/**
 * What `appendExact(arr, value)` then `splice(drop, 1)` gives (0 ≤ drop ≤ arr.length: an index into arr and `value`
 * after it), built in one exact array: a bounded list that takes a new entry and lets an old one go.
 */
export function appendDropping<T>(arr: readonly T[], value: T, drop: number): T[] {
  const n = arr.length;
  const out = new Array<T>(n);
  let w = 0;
  for (let i = 0; i < n; i++) if (i !== drop) out[w++] = arr[i];
  if (drop !== n) out[w] = value;
  return out;
}

/**
 * The list of a transaction (its record's steps, frames, keys, statuses, diagnostics; its deadlines and deliveries)
 * that has no entry yet: one shared frozen array, replaced by pushOne on the first entry (which never writes into an
 * array shorter than EXACT_UP_TO), so a transaction does not start with eight empty arrays of its own. Frozen, so a
 * write that bypasses pushOne throws instead of filling every transaction at once.
 */
export const NO_ENTRIES: never[] = Object.freeze([]) as unknown as never[];

/** Lists up to this long grow by exactly one slot at a time (pushOne). */
const EXACT_UP_TO = 16;

export function ackPending(d: DeliveryRef): boolean {
  return d.ackDue && !d.acked && !d.ackInvalid && !d.timedOut;
}

export const secs = (t: PacketTime): number => t.tsSec + t.tsNsec / 1e9;

/** A packet time of its own: a frame's time field is often the whole decoded packet, which must not be retained. */
export const timeOf = (t: PacketTime): PacketTime => ({ tsSec: t.tsSec, tsNsec: t.tsNsec });

export function fromSecs(s: number): PacketTime {
  const tsSec = Math.floor(s);
  return { tsSec, tsNsec: Math.min(999_999_999, Math.round((s - tsSec) * 1e9)) };
}

export const hex = (n: number, w: number): string => (n >>> 0).toString(16).padStart(w, '0');

/**
 * One copy of a string many records repeat (key labels and groups, addresses): every delivery to every UE names its
 * key, and a capture has few keys. Bounded: when the pool is full it starts over (LIMITS.internedStrings).
 */
const interned = new Map<string, string>();

export function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= LIMITS.internedStrings) interned.clear();
  interned.set(s, s);
  return s;
}

/** Parts joined into one flat string (a template literal is kept as a tree of string pieces). */
export const flat = (...parts: (string | number)[]): string => parts.join('');

function makeKeyRef(kd: string | undefined, kg: number | undefined, kn: number | undefined): KeyRefSummary {
  const r: KeyRefSummary = { label: intern(flat(kd ?? '*', ':', kg === undefined ? '*' : hex(kg, 4), ':', kn === undefined ? '*' : hex(kn, 4))) };
  if (kd !== undefined) r.keyDomainId = kd;
  if (kg !== undefined) r.keyGroup = kg;
  if (kn !== undefined) r.keyNumber = kn;
  return r;
}

/**
 * Key references and group labels by key domain and a number made of the key group and key number (16-bit fields;
 * 65536 stands for "absent"): every MIKEY message and MSK request names one, and a capture has few keys, so the label
 * is built (hex digits, join, intern) once per key, not per message. The records are shared and never written (the
 * transactions' requestedKeys and deliveredKeys list them). Bounded like the interned strings: cleared when full.
 * One key domain's cache: its own copy of the domain string (made once), its key references, its group labels.
 */
export interface KeyDomainCache {
  readonly kd: string | undefined;
  readonly refs: Map<number, KeyRefSummary>;
  readonly groups: Map<number, string>;
}

const domains = new Map<string | undefined, KeyDomainCache>();
let cachedKeys = 0;

const ABSENT = 0x10000;
/** The 17-bit code of a key group or key number (ABSENT for undefined), or -1 when it is not a 16-bit integer. */
function code16(n: number | undefined): number {
  if (n === undefined) return ABSENT;
  return Number.isInteger(n) && n >= 0 && n <= 0xffff && !Object.is(n, -0) ? n : -1;
}

/**
 * The cache of key domain `kd` (made on its first use; every cache is cleared when full): a caller that needs both the
 * group label and the key reference of a message looks the domain up once (groupIn, keyRefIn).
 */
export function keyDomain(kd: string | undefined): KeyDomainCache {
  let c = domains.get(kd);
  if (c === undefined) {
    if (cachedKeys >= LIMITS.internedStrings) {
      domains.clear();
      cachedKeys = 0;
    }
    // kept as long as the cache: its own string, not a view of the message it came from
    const own = kd === undefined ? undefined : ownString(kd);
    c = { kd: own, refs: new Map<number, KeyRefSummary>(), groups: new Map<number, string>() };
    domains.set(own, c);
  }
  return c;
}

export function keyRef(kd: string | undefined, kg: number | undefined, kn: number | undefined): KeyRefSummary {
  if (code16(kg) < 0 || code16(kn) < 0) return makeKeyRef(kd, kg, kn);
  return keyRefIn(keyDomain(kd), kg, kn);
}

/** keyRef within a domain's cache (from keyDomain). */
export function keyRefIn(c: KeyDomainCache, kg: number | undefined, kn: number | undefined): KeyRefSummary {
  const g = code16(kg);
  const n = code16(kn);
  if (g < 0 || n < 0) return makeKeyRef(c.kd, kg, kn);
  const k = g * (ABSENT + 1) + n;
  let r = c.refs.get(k);
  if (r === undefined) {
    r = makeKeyRef(c.kd, kg, kn);
    if (cachedKeys >= LIMITS.internedStrings) return r;
    c.refs.set(k, r);
    cachedKeys++;
  }
  return r;
}

export function groupOf(kd: string | undefined, kg: number | undefined): string {
  if (code16(kg) < 0) return groupLabel(kd, kg);
  return groupIn(keyDomain(kd), kg);
}

/** groupOf within a domain's cache (from keyDomain). */
export function groupIn(c: KeyDomainCache, kg: number | undefined): string {
  const g = code16(kg);
  if (g < 0) return groupLabel(c.kd, kg);
  let label = c.groups.get(g);
  if (label === undefined) {
    label = groupLabel(c.kd, kg);
    if (cachedKeys >= LIMITS.internedStrings) return label;
    c.groups.set(g, label);
    cachedKeys++;
  }
  return label;
}

function groupLabel(kd: string | undefined, kg: number | undefined): string {
  return intern(flat(kd ?? '*', ':', kg === undefined ? '*' : hex(kg, 4)));
}

/** `kd:kg` patterns where either side may be `*`. */
export function groupMatches(a: string, b: string): boolean {
  // the first two `:`-separated fields compared in place (as split(':') would give them, without its arrays and strings)
  const ai = a.indexOf(':');
  const bi = b.indexOf(':');
  const aEnd = ai < 0 ? a.length : ai;
  const bEnd = bi < 0 ? b.length : bi;
  if (!(fieldIsStar(a, 0, aEnd) || fieldIsStar(b, 0, bEnd) || fieldEquals(a, 0, aEnd, b, 0, bEnd))) return false;
  // a missing second field is split's undefined: it matches a `*` or another missing one
  const aj = ai < 0 ? -1 : a.indexOf(':', ai + 1);
  const bj = bi < 0 ? -1 : b.indexOf(':', bi + 1);
  const a2 = aj < 0 ? a.length : aj;
  const b2 = bj < 0 ? b.length : bj;
  if (ai < 0) return bi < 0 || fieldIsStar(b, bi + 1, b2);
  if (bi < 0) return fieldIsStar(a, ai + 1, a2);
  return fieldIsStar(a, ai + 1, a2) || fieldIsStar(b, bi + 1, b2) || fieldEquals(a, ai + 1, a2, b, bi + 1, b2);
}

function fieldIsStar(s: string, from: number, to: number): boolean {
  return to - from === 1 && s.charCodeAt(from) === 42; // '*'
}

function fieldEquals(a: string, af: number, at: number, b: string, bf: number, bt: number): boolean {
  if (at - af !== bt - bf) return false;
  for (let i = 0; i < at - af; i++) if (a.charCodeAt(af + i) !== b.charCodeAt(bf + i)) return false;
  return true;
}

/** Whether a group of `delivered` matches `g` (groupMatches is symmetric: also whether `g` matches one of a set). */
export function groupDelivered(delivered: GroupList, g: string): boolean {
  for (const d of delivered) if (groupMatches(g, d)) return true;
  return false;
}

/** Whether a group `tx` requested is still neither delivered nor refused. */
export function missingGroup(tx: Tx): boolean {
  for (const g of tx.requestedGroups) if (!groupDelivered(tx.deliveredGroups, g) && !tx.refused.has(g)) return true;
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
