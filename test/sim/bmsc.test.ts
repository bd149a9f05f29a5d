/**
 * The simulated BM-SC on its own, driven by a hand-written client: the challenge it sends (TS 33.246 Annex H profile),
 * credentials computed here with node:crypto alone (RFC 7616 formulas, MRK by the TS 33.220 KDF), its rspauth, the
 * MIKEY delivery that follows the 200 (its MAC checked here with the RFC 3830 PRF from the project's crypto), and
 * what it does with requests it does not expect. Loopback only, closed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { SimBmsc } from '../../src/sim/bmsc';
import { SimLog, Timers } from '../../src/sim/common';
import { SeededStream } from '../../src/sim/prng';
import { buildIdentities } from '../../src/sim/run';
import { normaliseScenario, scenarioAddresses } from '../../src/sim/scenario';
import { mskRequestXml } from '../../src/sim/xml';
import { decodeMikey, mccMncToKeyDomain } from '../../src/protocols/mikey/decode';
import { deriveMessageKeys } from '../../src/protocols/mikey/crypto';
import type { KemacPayload } from '../../src/protocols/mikey/types';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function post(host: string, port: number, local: string, path: string, body: Buffer, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, localAddress: local, path, method, agent: false, headers: { 'Content-Length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function challengeParams(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of h.replace(/^Digest\s+/, '').matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]*))/g)) out[m[1]] = m[2] ?? m[3];
  return out;
}

test('BM-SC: Digest challenge, credentials, rspauth and the MIKEY delivery after the 200, checked independently', async () => {
  const sc = normaliseScenario({ name: 'bmsc', network: '127.89.0.0/16', httpPort: 18289, ues: [{ count: 1 }] });
  const addrs = scenarioAddresses(sc);
  const [ue] = buildIdentities(sc, 1, addrs);
  const log = new SimLog();
  const timers = new Timers();
  const bmsc = new SimBmsc(sc, addrs, [ue], new SeededStream(1, 'bmsc'), log, timers);
  const udp = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  udp.on('message', (m) => datagrams.push(m));
  try {
    await bmsc.start();
    await new Promise<void>((r) => udp.bind({ address: ue.address, port: 2269 }, () => r()));
    const path = '/keymanagement?requesttype=msk-request';
    const body = Buffer.from(mskRequestXml([{ keyDomainId: mccMncToKeyDomain('001-01') as Buffer, keyGroup: 0x0101, keyNumber: 0 }]));
    const base = { 'Content-Type': 'application/mbms-msk+xml', Host: `${sc.bmsc.fqdn}:${sc.httpPort}`, 'User-Agent': 'test 3gpp-gba' };
    const first = await post(addrs.bmsc, sc.httpPort, ue.address, path, body, base);
    assert.equal(first.status, 401);
    const ch = challengeParams(String(first.headers['www-authenticate']));
    assert.equal(ch.realm, `3GPP-bootstrapping@${sc.bmsc.fqdn}`);
    assert.equal(ch.qop, 'auth,auth-int');
    assert.equal(ch.algorithm, 'MD5');
    assert.ok(ch.nonce.length >= 16 && ch.opaque.length > 0);

    const mrk = createHmac('sha256', ue.nafKey).update(Buffer.from([1])).update('mbms-mrk').update(Buffer.from([0, 8])).digest();
    const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
    const authorization = (password: string, nonce: string) => {
      const ha1 = md5(`${ue.btid}:${ch.realm}:${password}`);
      const ha2 = md5(`POST:${path}:${md5(body)}`);
      const response = md5(`${ha1}:${nonce}:00000001:0a1b2c3d:auth-int:${ha2}`);
      return { value: `Digest username="${ue.btid}", realm="${ch.realm}", nonce="${nonce}", uri="${path}", qop=auth-int, nc=00000001, cnonce="0a1b2c3d", response="${response}", opaque="${ch.opaque}"`, ha1 };
    };
    // a wrong password, an unknown nonce: 401 again (not stale: the nonce was never issued)
    assert.equal((await post(addrs.bmsc, sc.httpPort, ue.address, path, body, { ...base, Authorization: authorization('wrong', ch.nonce).value })).status, 401);
    const unknown = await post(addrs.bmsc, sc.httpPort, ue.address, path, body, { ...base, Authorization: authorization(mrk.toString('base64'), 'bm90LWlzc3VlZA==').value });
    assert.equal(unknown.status, 401);
    assert.doesNotMatch(String(unknown.headers['www-authenticate']), /stale/);
    // the right credentials under the challenge's nonce
    const good = authorization(mrk.toString('base64'), ch.nonce);
    const ok = await post(addrs.bmsc, sc.httpPort, ue.address, path, body, { ...base, Authorization: good.value });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'application/mbms-msk-response+xml');
    assert.match(ok.body.toString(), /<ResponseCode>200 OK<\/ResponseCode>/);
    const info = challengeParams(String(ok.headers['authentication-info']));
    assert.equal(info.rspauth, md5(`${good.ha1}:${ch.nonce}:00000001:0a1b2c3d:auth-int:${md5(`:${path}:${md5(ok.body)}`)}`));

    // the MIKEY MSK message follows over UDP to the address the request came from, MAC'd with the MUK = Ks_NAF
    for (let i = 0; i < 50 && datagrams.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(datagrams.length, 1);
    const m = decodeMikey(datagrams[0]).message;
    assert.ok(m);
    assert.equal(m.header.v, true);
    const rand = m.payloads.find((p) => p.type === 11) as { rand: Buffer } | undefined;
    const kemac = m.payloads.find((p) => p.type === 1) as KemacPayload | undefined;
    assert.ok(rand && kemac);
    const keys = deriveMessageKeys(ue.nafKey, m.header.csbId, rand.rand, 1, 1);
    const mac = createHmac('sha1', keys.authKey).update(datagrams[0].subarray(0, kemac.macOffset)).digest();
    assert.deepEqual(kemac.mac, mac);

    // what it does not expect
    assert.equal((await post(addrs.bmsc, sc.httpPort, ue.address, path, Buffer.alloc(0), base, 'GET')).status, 405);
    assert.equal((await post(addrs.bmsc, sc.httpPort, ue.address, '/elsewhere', body, base)).status, 404);
    const stranger = await post(addrs.bmsc, sc.httpPort, ue.address, path, body, { ...base, Authorization: 'Digest username="nobody", nonce="x", uri="/", response="00"' });
    assert.equal(stranger.status, 401);
    await new Promise<void>((r) => udp.send(Buffer.from('not mikey'), 2269, addrs.bmsc, () => r()));
    for (let i = 0; i < 50 && !log.events.some((e) => e.kind === 'mikey-undecodable'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(log.events.some((e) => e.kind === 'mikey-undecodable'));
  } finally {
    timers.close();
    await new Promise<void>((r) => udp.close(() => r()));
    await bmsc.close();
  }
});
