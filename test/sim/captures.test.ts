/**
 * The bundled simulator captures (captures/sim-*.pcap, recorded by `npm run captures`): dissected with their key
 * files, every MAC and Digest response verifies except where a fault makes it wrong, every fault named in the
 * expected-findings file is visible on the wire on its UE, and the clean UEs show nothing wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { capturePath, repoRoot } from '../support/repo';
import { loadScenarioFile, UE_FAULT_NAMES, type UeFault } from '../../src/sim/scenario';
import type { ExpectedFindings } from '../../src/sim/run';
import { cleanProblems, faultVisible, stormVisible } from './evidence';
import { acksFrom, hasCredentials, isHttp, isMikey, mikeyTo, viewCapture } from './view';
import * as path from 'node:path';

/** Faults whose ACKs are meant not to verify (wrong MAC, or no delivery with V to match). */
const ACK_FAULTS: UeFault[] = ['bad-ack-mac', 'ack-for-mtk', 'ack-not-due'];

async function load(name: string) {
  const expected = JSON.parse(readFileSync(capturePath(`sim-${name}.expected.json`), 'utf8')) as ExpectedFindings;
  const view = await viewCapture(capturePath(`sim-${name}.pcap`), capturePath(`sim-${name}.keys`));
  const scenario = loadScenarioFile(path.join(repoRoot(), 'scenarios', `${name}.yaml`));
  return { expected, view, scenario };
}

function checkVerification(view: Awaited<ReturnType<typeof load>>['view'], expected: ExpectedFindings): void {
  const faultsOf = new Map(expected.ues.map((u) => [u.address, new Set(u.faults)]));
  for (const m of view.items.filter(isMikey)) {
    const ackFault = ACK_FAULTS.some((f) => faultsOf.get(m.src)?.has(f));
    if (m.analysis.mbms?.kind === 'verification' && ackFault) continue;
    assert.equal(m.analysis.verified, true, `frame ${m.frame}: MIKEY ${m.analysis.mbms?.kind} ${m.src} → ${m.dst} not verified`);
  }
  let digests = 0;
  for (const r of view.items.filter(isHttp)) {
    if (r.message.kind !== 'request' || !hasCredentials(r.message)) continue;
    digests++;
    const wrong = faultsOf.get(r.src)?.has('wrong-password') === true;
    assert.equal(r.message.verified, !wrong, `frame ${r.frame}: Digest from ${r.src} ${wrong ? 'verified with a wrong password' : 'not verified'}`);
  }
  assert.ok(digests > 0);
}

test('sim-clean: every procedure present, everything verifies, nothing wrong on any UE', async () => {
  const { expected, view } = await load('clean');
  assert.equal(expected.ues.length, 0);
  assert.ok(expected.clean.length >= 2);
  checkVerification(view, expected);
  for (const a of expected.clean) {
    const btid = view.items.filter(isMikey).find((m) => m.analysis.mbms?.kind === 'msk-delivery' && m.dst === a)?.analysis.mbms?.idr ?? '';
    assert.deepEqual(cleanProblems(view, { address: a, btid }), [], a);
    const kinds = new Set(mikeyTo(view, a).map((m) => m.analysis.mbms?.kind));
    assert.ok(kinds.has('msk-delivery') && kinds.has('solicited-pull-trigger'), `${a}: deliveries and trigger`);
    assert.ok(acksFrom(view, a).length >= 3, `${a}: ACKs for pull, push and solicited pull`);
    const uris = view.items.filter(isHttp).filter((i) => i.src === a).map((i) => i.message.uri ?? '');
    for (const t of ['register', 'msk-request', 'deregister']) assert.ok(uris.some((u) => u.includes(`requesttype=${t}`)), `${a}: ${t}`);
  }
  const mtks = view.items.filter(isMikey).filter((m) => m.analysis.mbms?.kind === 'mtk-delivery');
  assert.ok(mtks.length >= 4 && mtks.every((m) => m.dst === expected.mtkGroupAddress && m.analysis.verified === true));
  // the streaming key group: SRTP-ID map and SP in its MSK messages, TEK+SALT in its MTKs; the download one: TGK
  const streamingMsk = view.items.filter(isMikey).filter((m) => m.analysis.mbms?.kind === 'msk-delivery' && m.analysis.mbms.keyGroup === 0x0202);
  assert.ok(streamingMsk.length >= 3 && streamingMsk.every((m) => m.analysis.message?.header.csIdMapType === 0 && m.analysis.message.payloads.some((p) => p.type === 10)));
  for (const m of mtks) assert.equal(m.analysis.keys?.[0]?.keyType, m.analysis.mbms?.keyGroup === 0x0202 ? 3 : 0, `frame ${m.frame}`);
  assert.ok(view.frames < 400, `small capture (${view.frames} frames)`);
});

test('sim-faults: every fault kind present, each visible on its UE, clean UEs clean', async () => {
  const { expected, view, scenario } = await load('faults');
  const present = new Set(expected.ues.flatMap((u) => u.faults));
  for (const f of UE_FAULT_NAMES) assert.ok(present.has(f), `fault ${f} in the scenario`);
  checkVerification(view, expected);
  for (const u of expected.ues) {
    assert.ok(u.expect.length > 0);
    for (const f of u.faults) {
      if (f === 'request-storm') continue;
      const ue = { address: u.address, btid: u.btid, ...(u.otherAddresses ? { otherAddresses: u.otherAddresses } : {}) };
      assert.ok(faultVisible(view, ue, f, scenario.timing), `${f} visible on ${u.address}`);
    }
  }
  const storm = expected.ues.filter((u) => u.faults.includes('request-storm')).map((u) => u.address);
  assert.ok(storm.length >= 5 && stormVisible(view, storm, expected.pacing.stormWindowMs / 1000), 'request storm');
  // the normal pacing is no storm: the other UEs never have even 3 MSK requests within the storm window
  const others = [...expected.clean, ...expected.ues.filter((u) => !u.faults.includes('request-storm')).map((u) => u.address)];
  for (let i = 0; i + 3 <= others.length; i++) assert.ok(!stormVisible(view, others.slice(i, i + 3), expected.pacing.stormWindowMs / 1000), `no storm among ${others.slice(i, i + 3)}`);
  assert.ok(view.items.filter(isMikey).some((m) => m.analysis.mbms?.kind === 'mtk-delivery' && m.analysis.mbms.v), 'MTK with V');
  assert.deepEqual(expected.group.map((g) => g.anomalies ?? []).flat(), ['mikey-v-on-mtk']);
  for (const a of expected.clean) {
    const btid = view.items.filter(isMikey).find((m) => m.analysis.mbms?.kind === 'msk-delivery' && m.dst === a)?.analysis.mbms?.idr ?? '';
    assert.deepEqual(cleanProblems(view, { address: a, btid }), [], a);
    for (const f of UE_FAULT_NAMES) if (f !== 'request-storm') assert.ok(!faultVisible(view, { address: a, btid }, f, scenario.timing), `${f} not on clean ${a}`);
  }
});

test('sim-variants: MIKEY in the 200 OK body (B, C), ACK in a later POST (B) or over UDP (C)', async () => {
  const { expected, view } = await load('variants');
  checkVerification(view, expected);
  const sc = loadScenarioFile(path.join(repoRoot(), 'scenarios', 'variants.yaml'));
  let index = 0;
  for (const g of sc.ues) {
    for (let k = 0; k < g.count; k++, index++) {
      const a = expected.clean[index];
      const inBody = view.items.filter(isMikey).filter((m) => m.carrier === 'http' && m.dst === a && m.analysis.mbms?.kind === 'msk-delivery');
      const acks = acksFrom(view, a);
      if (g.variant === 'D') {
        assert.equal(inBody.length, 0);
        continue;
      }
      assert.ok(inBody.length >= 2, `${a} variant ${g.variant}: deliveries in 200 OK bodies`);
      for (const d of inBody) {
        const ack = acks.find((x) => x.analysis.answersFrame === d.frame);
        assert.ok(ack && ack.analysis.verified === true, `${a}: delivery in frame ${d.frame} answered`);
        assert.equal(ack.carrier, g.variant === 'B' ? 'http' : 'udp');
      }
    }
  }
});
