/**
 * Runs a scenario: builds the UEs' identities from the seed, starts the BM-SC, the UEs and the MTK group listener on
 * loopback, plays the phases (join = register + pull, push, solicited pulls, request storm, deregistration, MTK
 * deliveries all along) or a load run, then closes every socket. Returns what happened, the key file and the
 * expected analyzer findings.
 */
import * as dgram from 'node:dgram';
import { SimBmsc, type BmscStats } from './bmsc';
import { MIKEY_PORT, SimLog, Timers, type SimEvent, type SimUeIdentity } from './common';
import { SeededStream } from './prng';
import {
  GROUP_FAULTS, UE_FAULTS, UE_FAULT_NAMES, scenarioAddresses, type Scenario, type ScenarioAddresses, type TransportVariant, type UeFault,
} from './scenario';
import { SimUe, type UeStats } from './ue';

export interface SimRunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's wall-time bound (seconds). */
  durationSeconds?: number;
  onEvent?: (e: SimEvent) => void;
  maxEvents?: number;
  /** The command line that made the run, for the expected-findings file. */
  command?: string;
}

export interface SimUeReport {
  index: number;
  address: string;
  altAddress?: string;
  btid: string;
  variant: TransportVariant;
  faults: UeFault[];
  label?: string;
  stats: UeStats;
  /** Key group → Key Numbers held at the end. */
  msks: Record<string, number[]>;
}

export interface ExpectedUe {
  address: string;
  btid: string;
  variant: TransportVariant;
  faults: UeFault[];
  /** Diagnostics the analyzer must report on this UE. */
  expect: string[];
  /** Consequences it may also report on this UE. */
  may: string[];
  /** Other addresses of this UE seen in the capture. */
  otherAddresses?: string[];
}

export interface ExpectedFindings {
  scenario: string;
  seed: number;
  command?: string;
  bmsc: { address: string; fqdn: string; httpPort: number };
  mtkGroupAddress: string;
  /** Timeouts under which the delayed faults are late and the normal exchanges are in time. */
  analyzerOptions: { ackTimeoutSeconds: number; mikeyAfter200TimeoutSeconds: number; solicitedPullTimeoutSeconds: number };
  /** Request pacing: normal requests are staggerMs apart; request-storm UEs all request within stormWindowMs. */
  pacing: { staggerMs: number; stormUes: number; stormWindowMs: number };
  ues: ExpectedUe[];
  /** Addresses of UEs without faults: the analyzer must report nothing on them. */
  clean: string[];
  /** The MTK group's faults: the diagnostics they provoke, and the dissector's problem codes (protocol anomalies). */
  group: { address: string; faults: string[]; expect: string[]; anomalies?: string[] }[];
  /** Every diagnostic code the capture must provoke at least once. */
  codes: string[];
}

export interface SimRunResult {
  scenario: Scenario;
  seed: number;
  addresses: { bmsc: string; group: string; filter: string };
  ues: SimUeReport[];
  bmsc: BmscStats;
  events: SimEvent[];
  eventsDropped: number;
  keyFile: string;
  expected: ExpectedFindings;
  wallSeconds: number;
  /** True when the duration bound cut the run short. */
  timedOut: boolean;
  /** Load runs: the push rate asked for and the rate achieved. */
  load?: LoadReport;
}

/** What a load run's push phase asked for and what it put on the wire. */
export interface LoadReport {
  /** Pushes per second asked for (`pushRate`). */
  askedPerSecond: number;
  /** MSK pushes sent during the push phase. */
  pushes: number;
  /** Wall time of the push phase (0 when it never started: the joins outlasted the run). */
  seconds: number;
  achievedPerSecond: number;
  /** The achieved rate is below LOAD_SHORTFALL_RATIO of the asked one. */
  shortfall: boolean;
}

/**
 * An achieved push rate below this fraction of the asked one is a shortfall, said out loud: timer granularity and
 * scheduling jitter cost a few per cent on a busy machine, more than that means the generator cannot keep up.
 */
export const LOAD_SHORTFALL_RATIO = 0.95;
/**
 * Pushes issued in one turn of the event loop when the generator is behind its schedule. Catching up in bursts gets
 * past setTimeout's 1 ms floor (a gap of 0.5 ms at 2,000/s); the bound keeps sockets, ACK handling and the duration
 * timer served between bursts.
 */
export const MAX_PUSH_BURST = 64;

export const BSF_DOMAIN = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';

/** The UEs of a scenario: addresses, seeded B-TIDs and NAF keys, faults (explicit and drawn from the rates). */
export function buildIdentities(sc: Scenario, seed: number, addrs: ScenarioAddresses): SimUeIdentity[] {
  const root = new SeededStream(seed, 'ue');
  const out: SimUeIdentity[] = [];
  let index = 0;
  for (const g of sc.ues) {
    for (let k = 0; k < g.count; k++, index++) {
      const s = root.child(String(index));
      const faults = new Set<UeFault>(g.faults);
      if (g.faults.length === 0) {
        const r = root.child(`rates/${index}`);
        for (const f of UE_FAULT_NAMES) {
          const p = sc.rates[f];
          if (p !== undefined && p > 0 && r.float() < p) faults.add(f);
        }
      }
      const id: SimUeIdentity = {
        index, address: addrs.ue(index), altAddress: addrs.ueAlt(index),
        btid: `${s.bytes(16).toString('base64')}@${BSF_DOMAIN}`, nafKey: s.bytes(32), faults, variant: g.variant, deregister: g.deregister,
      };
      if (g.label !== undefined) id.label = g.label;
      out.push(id);
    }
  }
  return out;
}

export function keyFileText(sc: Scenario, seed: number, addrs: ScenarioAddresses, ids: SimUeIdentity[], bmsc: SimBmsc): string {
  const lines = [
    `# keyscope sim: scenario ${sc.name}, seed ${seed}`,
    `# BM-SC ${sc.bmsc.fqdn} at ${addrs.bmsc} (HTTP port ${sc.httpPort}, MIKEY udp ${MIKEY_PORT}); realm 3GPP-bootstrapping@${sc.bmsc.fqdn}; Digest ${sc.bmsc.digestAlgorithm}`,
    '# naf <B-TID> <Ks_NAF>: the MUK, and base64(MRK) is the Digest password',
  ];
  for (const u of ids) {
    lines.push(`# UE ${u.address}${u.faults.size > 0 ? ` faults: ${[...u.faults].join(' ')}` : ''}${u.variant !== 'D' ? ` variant ${u.variant}` : ''}`);
    lines.push(`naf ${u.btid} ${u.nafKey.toString('hex')}`);
  }
  lines.push('# MSKs the BM-SC made (keyscope also learns them from the decrypted MSK deliveries)');
  const kd = bmsc.keyDomainId.toString('hex');
  for (const m of bmsc.allMsks) {
    const id = Buffer.alloc(4);
    id.writeUInt16BE(m.keyGroup, 0);
    id.writeUInt16BE(m.keyNumber, 2);
    lines.push(`msk ${kd} ${id.toString('hex')} ${m.key.toString('hex')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function expectedFindings(sc: Scenario, seed: number, addrs: ScenarioAddresses, ids: SimUeIdentity[], command?: string): ExpectedFindings {
  const ues: ExpectedUe[] = [];
  const clean: string[] = [];
  const codes = new Set<string>();
  for (const u of ids) {
    if (u.faults.size === 0) {
      clean.push(u.address);
      continue;
    }
    const faults = [...u.faults];
    const expect = [...new Set(faults.flatMap((f) => UE_FAULTS[f].expect as readonly string[]))];
    const may = [...new Set(faults.flatMap((f) => UE_FAULTS[f].may as readonly string[]))].filter((c) => !expect.includes(c));
    for (const c of expect) codes.add(c);
    const e: ExpectedUe = { address: u.address, btid: u.btid, variant: u.variant, faults, expect, may };
    if (u.faults.has('push-to-other-address')) e.otherAddresses = [u.altAddress];
    ues.push(e);
  }
  const group = sc.groupFaults.map((f) => ({
    address: addrs.group, faults: [f as string], expect: [...GROUP_FAULTS[f].expect] as string[], anomalies: [...GROUP_FAULTS[f].anomalies] as string[],
  }));
  for (const g of group) for (const c of g.expect) codes.add(c);
  const timeout = Math.max(0.2, Math.min(1, (sc.timing.delayMs / 1000) * 0.6));
  const out: ExpectedFindings = {
    scenario: sc.name,
    seed,
    bmsc: { address: addrs.bmsc, fqdn: sc.bmsc.fqdn, httpPort: sc.httpPort },
    mtkGroupAddress: addrs.group,
    analyzerOptions: { ackTimeoutSeconds: timeout, mikeyAfter200TimeoutSeconds: timeout, solicitedPullTimeoutSeconds: timeout },
    pacing: { staggerMs: sc.timing.staggerMs, stormUes: ids.filter((u) => u.faults.has('request-storm')).length, stormWindowMs: 50 },
    ues,
    clean,
    group,
    codes: [...codes].sort(),
  };
  if (command) out.command = command;
  return out;
}

function ueReport(ue: SimUe): SimUeReport {
  const msks: Record<string, number[]> = {};
  for (const [g, list] of ue.msks) msks[`0x${g.toString(16).padStart(4, '0')}`] = list.map((m) => m.keyNumber);
  const r: SimUeReport = {
    index: ue.id.index, address: ue.id.address, btid: ue.id.btid, variant: ue.id.variant, faults: [...ue.id.faults], stats: ue.stats, msks,
  };
  if (ue.id.faults.has('push-to-other-address')) r.altAddress = ue.id.altAddress;
  if (ue.id.label !== undefined) r.label = ue.id.label;
  return r;
}

/** Run a scenario on loopback. Every socket is closed before this resolves, also when it fails. */
export async function runScenario(sc: Scenario, options: SimRunOptions = {}): Promise<SimRunResult> {
  const seed = options.seed ?? sc.seed;
  const addrs = scenarioAddresses(sc);
  const log = new SimLog(options.maxEvents ?? 100_000, options.onEvent);
  const timers = new Timers();
  const root = new SeededStream(seed, sc.name);
  const ids = buildIdentities(sc, seed, addrs);
  const bmsc = new SimBmsc(sc, addrs, ids, root.child('bmsc'), log, timers);
  const ues = ids.map((id) => new SimUe(id, sc, addrs, root.child(`ue/${id.index}`), log, timers));
  let group: dgram.Socket | undefined;
  const bound = (options.durationSeconds ?? sc.durationSeconds) * 1000;
  let timedOut = false;
  let load: LoadReport | undefined;
  const started = performance.now();
  try {
    await bmsc.start();
    for (const u of ues) await u.start();
    const g = dgram.createSocket({ type: 'udp4' });
    group = g;
    // the MTK "multicast": one socket on the group address hands every datagram to every UE (README: MTK group address)
    g.on('message', (msg) => {
      for (const u of ues) void u.track(u.onGroupMikey(msg));
    });
    await new Promise<void>((resolve, reject) => {
      g.once('error', reject);
      g.bind({ address: addrs.group, port: MIKEY_PORT, exclusive: true }, () => resolve());
    });
    const loadReport: LoadReport = { askedPerSecond: sc.load?.pushRate ?? 0, pushes: 0, seconds: 0, achievedPerSecond: 0, shortfall: false };
    if (sc.load) load = loadReport;
    const finished = sc.load ? playLoad(sc, bmsc, ues, timers, log, loadReport) : playPhases(sc, bmsc, ues, timers, log);
    const limit = new Promise<'timeout'>((resolve) => {
      const h = setTimeout(() => resolve('timeout'), bound);
      void finished.finally(() => clearTimeout(h));
    });
    if ((await Promise.race([finished, limit])) === 'timeout') {
      timedOut = true;
      log.add('bmsc', 'duration-bound-reached', undefined, `${bound / 1000} s`);
    }
    if (load) settleLoadReport(load);
  } finally {
    timers.close();
    await Promise.allSettled(ues.map((u) => u.close()));
    await bmsc.close();
    if (group) {
      const g = group;
      await new Promise<void>((r) => g.close(() => r()));
    }
  }
  return {
    scenario: sc,
    seed,
    addresses: { bmsc: addrs.bmsc, group: addrs.group, filter: addrs.filter },
    ues: ues.map(ueReport),
    bmsc: bmsc.stats,
    events: log.events,
    eventsDropped: log.dropped,
    keyFile: keyFileText(sc, seed, addrs, ids, bmsc),
    expected: expectedFindings(sc, seed, addrs, ids, options.command),
    wallSeconds: (performance.now() - started) / 1000,
    timedOut,
    ...(load ? { load } : {}),
  };
}

/** The achieved rate and the shortfall verdict from the counts the push loop kept. */
export function settleLoadReport(r: LoadReport): LoadReport {
  r.achievedPerSecond = r.seconds > 0 ? r.pushes / r.seconds : 0;
  r.shortfall = r.askedPerSecond > 0 && r.achievedPerSecond < r.askedPerSecond * LOAD_SHORTFALL_RATIO;
  return r;
}

/** The line a load run prints when it delivered less than asked (empty when it did not). */
export function loadShortfallLine(r: LoadReport): string {
  if (!r.shortfall) return '';
  const why =
    r.seconds === 0
      ? 'the push phase never started (the UEs were still joining when the run ended; give a longer --duration or fewer --ues)'
      : `${r.pushes} pushes in ${r.seconds.toFixed(1)} s, ${((r.achievedPerSecond / r.askedPerSecond) * 100).toFixed(1)} % of the rate: this machine cannot generate more`;
  return `load shortfall: asked ${r.askedPerSecond} pushes/s, delivered ${r.achievedPerSecond.toFixed(1)}/s (${why}); for higher packet rates replay a capture onto lo (npm run bench -- --live)`;
}

/** Resolves when the wall clock reaches `ms` since the log's start. */
function until(timers: Timers, log: SimLog, ms: number): Promise<void> {
  return timers.sleep(ms - log.now());
}

async function playPhases(sc: Scenario, bmsc: SimBmsc, ues: SimUe[], timers: Timers, log: SimLog): Promise<void> {
  const t = sc.timing;
  const n = ues.length;
  const has = (f: UeFault) => ues.some((u) => u.id.faults.has(f));
  // the join phase waits for its slowest faulted exchange (delays, Retry-After), so phases never overlap
  const joinSettle = t.settleMs + (has('delayed-ack') || has('delayed-delivery') ? t.delayMs : 0) + (has('http-503') ? t.retryAfterSeconds * 1000 : 0);
  const settle = t.settleMs;
  const firstGroup = sc.services[0].keyGroup;
  const secondGroup = (sc.services[1] ?? sc.services[0]).keyGroup;
  const work: Promise<unknown>[] = [];
  let mtkDone = false;
  let mtkCount = 0;
  // MTK ticks on a fixed grid, and the phases that change MSKs start half-way between two ticks: which MSK an MTK
  // message is under then never depends on a race between a tick and a delivery
  const tick0 = t.startMs + t.settleMs;
  const midTick = (ms: number) => (ms <= tick0 ? ms : tick0 + (Math.ceil((ms - tick0) / t.mtkIntervalMs - 0.5) + 0.5) * t.mtkIntervalMs);
  const mtkLoop = (async () => {
    for (let k = 0; !mtkDone && !timers.isClosed; k++) {
      await until(timers, log, tick0 + k * t.mtkIntervalMs);
      if (mtkDone) break;
      for (const s of sc.services) {
        const vSet = sc.groupFaults.includes('mtk-v-set') && s.keyGroup === firstGroup && mtkCount === 2;
        if (await bmsc.mtk(s.keyGroup, t.mtkRepeat, vSet)) if (s.keyGroup === firstGroup) mtkCount++;
      }
    }
  })();

  // join: register + pull of the first service's key group, one UE every staggerMs
  for (let i = 0; i < n; i++) {
    await until(timers, log, t.startMs + i * t.staggerMs);
    work.push(ues[i].track(ues[i].join(firstGroup)));
  }
  let at = midTick(t.startMs + n * t.staggerMs + joinSettle);
  await until(timers, log, at);
  await Promise.allSettled(work);

  // push: a new MSK of the first key group to every entitled UE
  bmsc.rotate(firstGroup);
  const targets = bmsc.pushTargets(firstGroup);
  log.add('bmsc', 'push-phase', undefined, `${targets.length} UEs`);
  for (let k = 0; k < targets.length; k++) {
    await until(timers, log, at + k * t.pushStaggerMs);
    work.push(bmsc.push(targets[k], firstGroup));
  }
  at = midTick(at + targets.length * t.pushStaggerMs + settle);

  // solicited pulls of the second key group, spread; then the storm batch all at once
  await until(timers, log, at);
  const registered = ues.filter((u) => u.stats.registered);
  const spread = registered.filter((u) => !u.id.faults.has('request-storm'));
  const storm = registered.filter((u) => u.id.faults.has('request-storm'));
  log.add('bmsc', 'solicited-pull-phase', undefined, `${spread.length} UEs`);
  for (let k = 0; k < spread.length; k++) {
    await until(timers, log, at + k * t.staggerMs);
    work.push(bmsc.trigger(spread[k].id, secondGroup));
  }
  at += spread.length * t.staggerMs + settle;
  if (storm.length > 0) {
    await until(timers, log, at);
    log.add('bmsc', 'storm-phase', undefined, `${storm.length} UEs triggered at once`);
    for (const u of storm) work.push(bmsc.trigger(u.id, secondGroup));
    at += settle;
  }

  // deregistration
  await until(timers, log, at);
  await Promise.allSettled(work);
  const leaving = ues.filter((u) => u.stats.registered && u.id.deregister);
  for (let k = 0; k < leaving.length; k++) {
    await until(timers, log, at + k * t.staggerMs);
    work.push(leaving[k].track(leaving[k].deregister()));
  }
  at += leaving.length * t.staggerMs + t.settleMs;
  await until(timers, log, at);
  mtkDone = true;
  await mtkLoop;
  await Promise.allSettled(work);
  await Promise.allSettled(ues.map((u) => u.idle()));
}

/**
 * Load run: the UEs join spread over rampSeconds, then the BM-SC pushes a new MSK to one UE after the other at
 * pushRate per second (a new MSK for the key group after each full round) with MTK messages all along, until the
 * duration bound ends the run.
 */
async function playLoad(sc: Scenario, bmsc: SimBmsc, ues: SimUe[], timers: Timers, log: SimLog, report: LoadReport): Promise<void> {
  const load = sc.load ?? { pushRate: 10, rampSeconds: 5 };
  const t = sc.timing;
  const firstGroup = sc.services[0].keyGroup;
  const work = new Set<Promise<unknown>>();
  const keep = (p: Promise<unknown>) => {
    work.add(p);
    void p.finally(() => work.delete(p));
  };
  // stop early enough for the last exchanges to finish inside the duration bound
  const end = sc.durationSeconds * 1000 - Math.min(2000, sc.durationSeconds * 200);
  const mtkLoop = (async () => {
    while (!timers.isClosed && log.now() < end) {
      for (const s of sc.services) await bmsc.mtk(s.keyGroup, t.mtkRepeat);
      await timers.sleep(t.mtkIntervalMs);
    }
  })();
  const ramp = (load.rampSeconds * 1000) / Math.max(1, ues.length);
  const joins: Promise<unknown>[] = [];
  for (let i = 0; i < ues.length && log.now() < end; i++) {
    await until(timers, log, t.startMs + i * ramp);
    const j = ues[i].track(ues[i].join(firstGroup));
    joins.push(j);
    keep(j);
  }
  // pushes start once every UE holds its first MSK, so no push repeats an MSK a UE just pulled
  await Promise.race([Promise.allSettled(joins), until(timers, log, end)]);
  if (load.pushRate > 0 && log.now() < end) {
    const gap = 1000 / load.pushRate;
    let k = 0;
    let next = log.now();
    const phaseStart = log.now();
    // the push phase ends at `end` or when the run is closed, whichever comes first: measured on either way out
    try {
      while (!timers.isClosed && log.now() < end) {
        const targets = bmsc.pushTargets(firstGroup);
        if (targets.length === 0) {
          await timers.sleep(100);
          next = log.now();
          continue;
        }
        // behind schedule: issue the pushes due now in one burst (bounded), then yield
        for (let burst = 0; burst < MAX_PUSH_BURST && log.now() >= next && log.now() < end; burst++) {
          if (k % targets.length === 0) bmsc.rotate(firstGroup);
          const p = bmsc.push(targets[k % targets.length], firstGroup).then(() => {
            report.pushes++;
          });
          keep(p);
          k++;
          next += gap;
        }
        await until(timers, log, next);
      }
    } finally {
      report.seconds = (Math.min(log.now(), end) - phaseStart) / 1000;
    }
  }
  await until(timers, log, end);
  await mtkLoop;
  await Promise.allSettled([...work]);
}
