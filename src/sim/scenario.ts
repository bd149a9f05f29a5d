/**
 * Scenario files for `keyscope sim`: JSON or YAML (YAML is a superset of JSON, so one parser reads both) describing
 * the BM-SC, the services, the UEs (in groups, each with its faults and transport variant), the fault rates and the
 * timing. Everything has a default, so `{ "ues": [{ "count": 2 }] }` is a complete scenario.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
// type only: the yaml package (≈ 7 MB of RSS) is loaded by the first scenario read, not by every command
import type * as Yaml from 'yaml';

/**
 * Faults a UE (or the BM-SC towards that UE) can be given, and what the analyzer must say about them. `expect` are
 * the diagnostics the fault must provoke on that UE; `may` are consequences an analyzer may also report on it.
 */
export const UE_FAULTS = {
  'wrong-password': { expect: ['credentials-rejected'], may: [], what: 'the UE answers the challenge with a wrong password (401 after Authorization); it gives up and never registers' },
  'stale-nonce': { expect: ['stale-nonce-loop'], may: [], what: 'the BM-SC answers every credentialed registration with 401 stale=true; the UE retries 3 times with the new nonce, then gives up' },
  'dropped-ack': { expect: ['ack-missing'], may: [], what: 'the UE never sends the ACK for its pull delivery (V set)' },
  'delayed-ack': { expect: ['ack-missing'], may: ['ack-unmatched'], what: 'the UE sends the ACK for its pull delivery delayMs late' },
  'dropped-delivery': { expect: ['no-mikey-after-200'], may: [], what: 'the MIKEY delivery after the 200 OK of the pull is never sent (its counter value is spent)' },
  'delayed-delivery': { expect: ['no-mikey-after-200'], may: [], what: 'the MIKEY delivery after the 200 OK of the pull is sent delayMs late' },
  'delivery-before-200': { expect: ['mikey-before-200'], may: [], what: 'the BM-SC sends the MIKEY delivery of the pull before its 200 OK (transport variant A)' },
  'ignored-solicited-pull': { expect: ['solicited-pull-ignored'], may: [], what: 'the UE verifies the solicited-pull trigger and does not request the key' },
  'replayed-counter': { expect: ['counter-replay'], may: [], what: 'the push to this UE reuses the counter of the previous message under its MUK (V not set); the UE drops it' },
  'ack-for-mtk': { expect: ['mtk-ack'], may: ['ack-unmatched'], what: 'the UE answers the first MTK message it receives with a verification message (ACK)' },
  'http-503': { expect: ['http-error-status'], may: [], what: 'the BM-SC answers the credentialed MSK request with 503 and Retry-After; the UE retries after it' },
  'http-5xx': { expect: ['http-error-status'], may: ['no-valid-msk'], what: 'the BM-SC answers the credentialed MSK request with 504 (no Zn answer); the UE does not retry (the push later gives it an MSK)' },
  'retry-after-ignored': { expect: ['http-error-status', 'retry-after-ignored'], may: [], what: 'the BM-SC answers the credentialed MSK request with 503 and Retry-After; the UE retries at once' },
  'request-storm': { expect: ['request-storm'], may: [], what: 'the UE is in the batch of UEs sent a solicited-pull trigger at the same instant (no spreading); they all request at once' },
  'bad-ack-mac': { expect: ['ack-mac-invalid'], may: ['ack-missing'], what: 'the UE sends the ACK for its pull delivery with a corrupted MAC' },
  'ack-not-due': { expect: ['ack-not-due'], may: [], what: 'the UE answers the solicited-pull trigger (no ACK due) with an ACK, then pulls' },
  'repeated-delivery': { expect: ['repeated-delivery'], may: [], what: 'the BM-SC sends the pull delivery twice (same MSK, next counter); the UE ACKs both' },
  'unrequested-key-group': { expect: ['key-group-not-requested'], may: [], what: 'the pull delivery is followed by an MSK of a key group the UE did not request' },
  'third-msk': { expect: ['third-msk'], may: [], what: 'after the push the BM-SC pushes a third MSK of the same key group to this UE' },
  'msk-refused': { expect: ['no-valid-msk'], may: ['no-mikey-after-200'], what: 'the BM-SC answers the MSK request with ResponseCode 403 for the key and never delivers it; no push follows' },
  unregistered: { expect: ['registration-not-seen'], may: [], what: 'the UE requests its MSK without ever registering (the lab BM-SC delivers anyway)' },
  'push-to-other-address': { expect: ['push-to-unregistered-address'], may: [], what: 'the push goes to a second address of the UE, not the one it registered from; the UE ACKs from there' },
  'counter-jump': { expect: ['msk-counter-jump'], may: [], what: 'the push to this UE is lost on the way (its counter value spent): the next delivery shows a jump of 2' },
} as const satisfies Record<string, { expect: readonly string[]; may: readonly string[]; what: string }>;

export type UeFault = keyof typeof UE_FAULTS;
export const UE_FAULT_NAMES = Object.keys(UE_FAULTS) as UeFault[];

/** Faults that concern the MTK stream rather than one UE. */
export const GROUP_FAULTS = {
  // the V flag is what the packet says: the dissector's expert info, not a procedure diagnostic
  'mtk-v-set': { expect: [], anomalies: ['mikey-v-on-mtk'], what: 'one MTK message is sent with the V flag set' },
} as const;
export type GroupFault = keyof typeof GROUP_FAULTS;

/** The seeds' transport alternatives that the simulator can produce for a pull (A is the `delivery-before-200` fault). */
export type TransportVariant = 'B' | 'C' | 'D';

export interface UeGroupSpec {
  count: number;
  faults: UeFault[];
  variant: TransportVariant;
  /** Deregister at the end (default true). */
  deregister: boolean;
  label?: string;
}

export interface ServiceSpec {
  id: string;
  keyGroup: number;
  /** Streaming: MSK messages with an SRTP crypto session and policy, MTKs as TEK+SALT; download: Empty map, TGK. */
  streaming: boolean;
}

export interface ScenarioTiming {
  /** First UE starts at this offset. */
  startMs: number;
  /** Between two UEs' starts, between solicited-pull triggers and between deregistrations. */
  staggerMs: number;
  /** Quiet time between phases. */
  settleMs: number;
  /** Between two pushes (one per UE). */
  pushStaggerMs: number;
  /** MTK messages: every intervalMs, each sent `mtkRepeat` times (the repetition keeps the counter). */
  mtkIntervalMs: number;
  mtkRepeat: number;
  /** How late a delayed ACK or delivery is. */
  delayMs: number;
  /** Retry-After of the BM-SC's 503. */
  retryAfterSeconds: number;
}

export interface LoadSpec {
  /** New MSK pushes per second, round robin over the UEs. */
  pushRate: number;
  /** Seconds over which the UEs register and pull. */
  rampSeconds: number;
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  /** A /16 inside 127.0.0.0/8: BM-SC .0.1, MTK group address .0.2, UEs from .0.10 on, second UE addresses at .128.x. */
  network: string;
  httpPort: number;
  bmsc: { fqdn: string; digestAlgorithm: 'MD5' | 'SHA-256'; keyDomain: string; nonceLifetimeMs: number };
  services: ServiceSpec[];
  ues: UeGroupSpec[];
  /** Fault probabilities, drawn per UE with the seed (only for UEs of groups without explicit faults). */
  rates: Partial<Record<UeFault, number>>;
  groupFaults: GroupFault[];
  timing: ScenarioTiming;
  /** Wall-time bound of the whole run in seconds. */
  durationSeconds: number;
  /** Present for a load run: steady pushes instead of the scripted phases. */
  load?: LoadSpec;
}

export const DEFAULT_TIMING: ScenarioTiming = {
  startMs: 150, staggerMs: 100, settleMs: 600, pushStaggerMs: 30, mtkIntervalMs: 400, mtkRepeat: 2, delayMs: 1200, retryAfterSeconds: 1,
};

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ScenarioError(`${where} must be a mapping`);
  return v as Record<string, unknown>;
}

function num(v: unknown, where: string, dflt: number, lo: number, hi: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new ScenarioError(`${where} must be a number in [${lo}, ${hi}]`);
  return v;
}

function str(v: unknown, where: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw new ScenarioError(`${where} must be a non-empty string`);
  return v;
}

function checkNetwork(s: string): string {
  const m = /^127\.(\d{1,3})\.0\.0\/16$/.exec(s);
  if (!m || Number(m[1]) > 255) throw new ScenarioError(`network must be a /16 inside 127.0.0.0/8 written 127.N.0.0/16, got ${JSON.stringify(s)}`);
  return s;
}

function faultList(v: unknown, where: string): UeFault[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ScenarioError(`${where} must be a list of fault names`);
  return v.map((f, i) => {
    if (typeof f !== 'string' || !(f in UE_FAULTS)) throw new ScenarioError(`${where}[${i}]: unknown fault ${JSON.stringify(f)} (known: ${UE_FAULT_NAMES.join(', ')})`);
    return f as UeFault;
  });
}

/** Validate a parsed scenario object and fill in the defaults. */
export function normaliseScenario(raw: unknown, fallbackName = 'scenario'): Scenario {
  const r = obj(raw, 'scenario');
  const bm = obj(r.bmsc, 'bmsc');
  const alg = str(bm.digestAlgorithm, 'bmsc.digestAlgorithm', 'MD5');
  if (alg !== 'MD5' && alg !== 'SHA-256') throw new ScenarioError('bmsc.digestAlgorithm must be MD5 or SHA-256');
  const kd = str(bm.keyDomain, 'bmsc.keyDomain', '001-01');
  if (!/^\d{3}-\d{2,3}$/.test(kd)) throw new ScenarioError('bmsc.keyDomain must be MCC-MNC, e.g. 001-01');
  const servicesRaw = r.services ?? [
    { id: 'urn:3gpp:mbms:keyscope:service:tv', keyGroup: 0x0101 },
    { id: 'urn:3gpp:mbms:keyscope:service:radio', keyGroup: 0x0202 },
  ];
  if (!Array.isArray(servicesRaw) || servicesRaw.length === 0 || servicesRaw.length > 8) throw new ScenarioError('services must be a list of 1..8 {id, keyGroup}');
  const services = servicesRaw.map((s, i) => {
    const o = obj(s, `services[${i}]`);
    return {
      id: str(o.id, `services[${i}].id`, `urn:3gpp:mbms:keyscope:service:${i}`),
      keyGroup: num(o.keyGroup, `services[${i}].keyGroup`, 0x0101 * (i + 1), 1, 0xfffe),
      streaming: o.streaming === undefined ? false : Boolean(o.streaming),
    };
  });
  const uesRaw = r.ues ?? [{ count: 2 }];
  if (!Array.isArray(uesRaw) || uesRaw.length === 0) throw new ScenarioError('ues must be a non-empty list of UE groups');
  const ues = uesRaw.map((g, i) => {
    const o = obj(g, `ues[${i}]`);
    const variant = str(o.variant, `ues[${i}].variant`, 'D');
    if (variant !== 'B' && variant !== 'C' && variant !== 'D') throw new ScenarioError(`ues[${i}].variant must be B, C or D (A is the delivery-before-200 fault)`);
    const spec: UeGroupSpec = {
      count: num(o.count, `ues[${i}].count`, 1, 1, 5000),
      faults: faultList(o.faults, `ues[${i}].faults`),
      variant,
      deregister: o.deregister === undefined ? true : Boolean(o.deregister),
    };
    if (o.label !== undefined) spec.label = str(o.label, `ues[${i}].label`, '');
    return spec;
  });
  const total = ues.reduce((n, g) => n + g.count, 0);
  if (total > 5000) throw new ScenarioError(`at most 5000 UEs (got ${total})`);
  const ratesRaw = obj(r.rates, 'rates');
  const rates: Partial<Record<UeFault, number>> = {};
  for (const [k, v] of Object.entries(ratesRaw)) {
    if (!(k in UE_FAULTS)) throw new ScenarioError(`rates: unknown fault ${JSON.stringify(k)}`);
    rates[k as UeFault] = num(v, `rates.${k}`, 0, 0, 1);
  }
  const gf = r.groupFaults ?? [];
  if (!Array.isArray(gf) || gf.some((f) => typeof f !== 'string' || !(f in GROUP_FAULTS))) throw new ScenarioError(`groupFaults must list names from: ${Object.keys(GROUP_FAULTS).join(', ')}`);
  const t = obj(r.timing, 'timing');
  const timing: ScenarioTiming = {
    startMs: num(t.startMs, 'timing.startMs', DEFAULT_TIMING.startMs, 0, 60_000),
    staggerMs: num(t.staggerMs, 'timing.staggerMs', DEFAULT_TIMING.staggerMs, 0, 10_000),
    settleMs: num(t.settleMs, 'timing.settleMs', DEFAULT_TIMING.settleMs, 50, 30_000),
    pushStaggerMs: num(t.pushStaggerMs, 'timing.pushStaggerMs', DEFAULT_TIMING.pushStaggerMs, 0, 10_000),
    mtkIntervalMs: num(t.mtkIntervalMs, 'timing.mtkIntervalMs', DEFAULT_TIMING.mtkIntervalMs, 20, 60_000),
    mtkRepeat: num(t.mtkRepeat, 'timing.mtkRepeat', DEFAULT_TIMING.mtkRepeat, 1, 10),
    delayMs: num(t.delayMs, 'timing.delayMs', DEFAULT_TIMING.delayMs, 0, 60_000),
    retryAfterSeconds: num(t.retryAfterSeconds, 'timing.retryAfterSeconds', DEFAULT_TIMING.retryAfterSeconds, 0, 60),
  };
  const sc: Scenario = {
    name: str(r.name, 'name', fallbackName),
    description: typeof r.description === 'string' ? r.description : '',
    seed: num(r.seed, 'seed', 1, 0, 2 ** 32 - 1),
    network: checkNetwork(str(r.network, 'network', '127.77.0.0/16')),
    httpPort: num(r.httpPort, 'httpPort', 18269, 1, 65535),
    bmsc: {
      fqdn: str(bm.fqdn, 'bmsc.fqdn', 'bmsc.mnc001.mcc001.pub.3gppnetwork.org'),
      digestAlgorithm: alg,
      keyDomain: kd,
      nonceLifetimeMs: num(bm.nonceLifetimeMs, 'bmsc.nonceLifetimeMs', 30_000, 1, 3_600_000),
    },
    services,
    ues,
    rates,
    groupFaults: gf as GroupFault[],
    timing,
    durationSeconds: num(r.durationSeconds, 'durationSeconds', 60, 1, 3600),
  };
  if (r.load !== undefined) {
    const l = obj(r.load, 'load');
    sc.load = { pushRate: num(l.pushRate, 'load.pushRate', 10, 0, 10_000), rampSeconds: num(l.rampSeconds, 'load.rampSeconds', 5, 0, 600) };
  }
  return sc;
}

export function parseScenarioText(text: string, fallbackName = 'scenario'): Scenario {
  let raw: unknown;
  try {
    const yaml = require('yaml') as typeof Yaml;
    raw = yaml.parse(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new ScenarioError(`not valid JSON/YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return normaliseScenario(raw, fallbackName);
}

export function loadScenarioFile(file: string): Scenario {
  const base = path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  return parseScenarioText(readFileSync(file, 'utf8'), base);
}

// --- addressing ------------------------------------------------------------------------------------------------

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface ScenarioAddresses {
  bmsc: string;
  /** Stands for the MTK multicast group (see src/sim/README.md: loopback has no multicast without changing lo). */
  group: string;
  ue(index: number): string;
  /** A UE's second address (push-to-other-address). */
  ueAlt(index: number): string;
  /** tcpdump filter for everything the run sends. */
  filter: string;
}

export function scenarioAddresses(s: Scenario): ScenarioAddresses {
  const base = ipToInt(s.network.split('/')[0]);
  return {
    bmsc: intToIp(base + 1),
    group: intToIp(base + 2),
    ue: (i) => intToIp(base + 10 + i),
    ueAlt: (i) => intToIp(base + 0x8000 + 10 + i),
    filter: `net ${s.network} and (udp port 2269 or tcp port ${s.httpPort})`,
  };
}
