/**
 * The bundled simulator captures against outside oracles: tshark reads the same MIKEY messages (type, V flag) and the
 * same HTTP Authorization headers as keyscope, and every Digest response, recomputed here from tshark's raw header and
 * the request bytes with node:crypto alone (RFC 7616 formulas, MRK by the TS 33.220 KDF), matches the password derived
 * from the key file's NAF key — except the wrong-password UE's, which must not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { capturePath } from '../support/repo';
import { tsharkFields } from '../support/tshark';
import { isMikey, viewCapture } from './view';

interface Expected {
  bmsc: { httpPort: number };
  ues: { address: string; faults: string[] }[];
}

function nafKeys(file: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const x = /^naf (\S+) ([0-9a-f]+)$/.exec(line.trim());
    if (x) m.set(x[1], Buffer.from(x[2], 'hex'));
  }
  return m;
}

function params(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))/g)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out;
}

for (const name of ['sim-clean', 'sim-faults', 'sim-variants']) {
  test(`${name}: tshark sees the same MIKEY messages and HTTP credentials; every Digest response recomputed independently`, async () => {
    const pcap = capturePath(`${name}.pcap`);
    const e = JSON.parse(readFileSync(capturePath(`${name}.expected.json`), 'utf8')) as Expected;
    const decode = ['-d', `tcp.port==${e.bmsc.httpPort},http`];
    const view = await viewCapture(pcap, capturePath(`${name}.keys`));

    const mikey = tsharkFields(pcap, ['frame.number', 'mikey.type', 'mikey.v.set'], [...decode, '-Y', 'udp && mikey']);
    const ours = view.items.filter(isMikey).filter((m) => m.carrier === 'udp');
    assert.deepEqual(mikey.map((r) => Number(r[0])), ours.map((m) => m.frame));
    mikey.forEach((r, i) => {
      assert.equal(Number(r[1]), ours[i].analysis.message?.header.dataType, `frame ${r[0]} data type`);
      assert.equal(r[2] === '1' || r[2] === 'True', ours[i].analysis.mbms?.v, `frame ${r[0]} V`);
    });

    const wrong = new Set(e.ues.filter((u) => u.faults.includes('wrong-password')).map((u) => u.address));
    const keys = nafKeys(capturePath(`${name}.keys`));
    const rows = tsharkFields(pcap, ['frame.number', 'ip.src', 'http.authorization', 'tcp.payload'], [...decode, '-Y', 'http.authorization']);
    assert.ok(rows.length > 0);
    let checked = 0;
    for (const [frame, src, authorization, payloadHex] of rows) {
      const p = params(authorization);
      const naf = keys.get(p.username);
      assert.ok(naf, `frame ${frame}: ${p.username} in the key file`);
      const mrk = createHmac('sha256', naf).update(Buffer.concat([Buffer.from([1]), Buffer.from('mbms-mrk'), Buffer.from([0, 8])])).digest();
      const password = mrk.toString('base64');
      const raw = Buffer.from(payloadHex.replace(/:/g, ''), 'hex');
      const split = raw.indexOf('\r\n\r\n');
      const body = raw.subarray(split + 4);
      const length = Number(/\r\nContent-Length: (\d+)\r\n/i.exec(raw.subarray(0, split).toString('latin1'))?.[1]);
      assert.equal(body.length, length, `frame ${frame}: the whole request in one segment`);
      const alg = (p.algorithm ?? 'MD5').toUpperCase() === 'SHA-256' ? 'sha256' : 'md5';
      const h = (s: string | Buffer) => createHash(alg).update(s).digest('hex');
      assert.equal(p.qop, 'auth-int');
      const ha1 = h(`${p.username}:${p.realm}:${password}`);
      const ha2 = h(`POST:${p.uri}:${h(body)}`);
      const response = h(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
      if (wrong.has(src)) assert.notEqual(response, p.response, `frame ${frame}: wrong password must not verify`);
      else assert.equal(response, p.response, `frame ${frame}: Digest response from ${src}`);
      checked++;
    }
    assert.equal(checked, rows.length);
  });
}
