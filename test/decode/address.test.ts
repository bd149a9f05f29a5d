import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHexColons, formatIpv4, formatIpv6, formatMac } from '../../src/decode/address';
import { ipv6Bytes } from './craft';

test('IPv4 dotted quad at an offset', () => {
  const b = Buffer.from([9, 0, 255, 10, 1, 200]);
  assert.equal(formatIpv4(b, 1), '0.255.10.1');
  assert.equal(formatIpv4(Buffer.from([255, 255, 255, 255]), 0), '255.255.255.255');
});

test('MAC and other link-layer addresses are lower-case hex with colons', () => {
  assert.equal(formatMac(Buffer.from([0, 0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0xff]), 1), 'aa:bb:0c:dd:ee:ff');
  assert.equal(formatHexColons(Buffer.from([1, 2, 0xab]), 0, 3), '01:02:ab');
  assert.equal(formatHexColons(Buffer.alloc(0), 0, 0), '');
});

const v6 = (s: string): string => formatIpv6(ipv6Bytes(s), 0);

test('IPv6 text follows RFC 5952 (section 4 examples)', () => {
  // 4.1 leading zeros dropped, 4.3 lower case
  assert.equal(v6('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(v6('2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:0001'), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1');
  // 4.2.1 longest run, 4.2.2 a single zero group is not compressed
  assert.equal(v6('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
  assert.equal(v6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  // 4.2.3 longest run wins; on a tie the first one
  assert.equal(v6('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
  assert.equal(v6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(v6('::'), '::');
  assert.equal(v6('::1'), '::1');
  assert.equal(v6('1::'), '1::');
  assert.equal(v6('fe80:0:0:0:1:0:0:0'), 'fe80::1:0:0:0');
  assert.equal(v6('fe80:0:0:1:0:0:0:0'), 'fe80:0:0:1::');
  assert.equal(v6('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  assert.equal(v6('1:0:2:0:3:0:4:0'), '1:0:2:0:3:0:4:0');
  assert.equal(v6('0:0:1:0:0:0:0:0'), '0:0:1::');
  assert.equal(v6('ff02::1:ff00:1'), 'ff02::1:ff00:1');
  assert.equal(v6('100:0:0:0:0:0:0:0'), '100::');
  assert.equal(v6('abcd:ef01:2345:6789:abcd:ef01:2345:6789'), 'abcd:ef01:2345:6789:abcd:ef01:2345:6789');
});

test('IPv6 with embedded IPv4 uses dotted quad the way tshark prints it', () => {
  assert.equal(v6('::ffff:192.0.2.5'), '::ffff:192.0.2.5');
  assert.equal(v6('::192.0.2.5'), '::192.0.2.5');
  // not mapped/compatible: plain hex
  assert.equal(v6('::ffff:0:c000:205'), '::ffff:0:c000:205');
  assert.equal(v6('64:ff9b::c000:205'), '64:ff9b::c000:205');
  assert.equal(v6('::2'), '::2');
});

test('IPv6 at an offset inside a larger buffer', () => {
  const b = Buffer.concat([Buffer.from([0xff, 0xff]), ipv6Bytes('2001:db8::7'), Buffer.from([0xff])]);
  assert.equal(formatIpv6(b, 2), '2001:db8::7');
});

test('cached IPv4 and MAC strings stay right across more distinct values than the cache holds', () => {
  const b = Buffer.alloc(6);
  for (let i = 0; i < 70000; i += 7) {
    b.writeUInt32BE((i * 2654435761) >>> 0, 0);
    b.writeUInt16BE(i & 0xffff, 4);
    assert.equal(formatIpv4(b, 0), `${b[0]}.${b[1]}.${b[2]}.${b[3]}`);
    assert.equal(formatMac(b, 0), [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
  }
  assert.equal(formatMac(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0), 'ff:ff:ff:ff:ff:ff');
  assert.equal(formatMac(Buffer.from([0, 0, 0, 0, 0, 1]), 0), '00:00:00:00:00:01');
  assert.equal(formatMac(Buffer.from([0, 1, 0, 0, 0, 0]), 0), '00:01:00:00:00:00');
});

/** Straightforward RFC 5952 text (plus tshark's dotted forms), to check the table-driven, cached one against. */
function referenceIpv6(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(2 * i));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
  }
  const dotted = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (best === 0 && bestLen === 5 && g[5] === 0xffff) return '::ffff:' + dotted;
  if (best === 0 && bestLen === 6) return '::' + dotted;
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

test('IPv6 text matches a reference implementation over many addresses (more than the cache holds)', () => {
  let s = 99;
  const next = (): number => (s = (s * 1103515245 + 12345) >>> 0) >>> 16;
  const b = Buffer.alloc(16);
  for (let n = 0; n < 80000; n++) {
    // mostly zero groups, so runs and ties are common
    for (let i = 0; i < 8; i++) b.writeUInt16BE(next() % 3 === 0 ? next() & 0xffff : next() % 5 === 0 ? 0xffff : 0, 2 * i);
    assert.equal(formatIpv6(b, 0), referenceIpv6(b), b.toString('hex'));
  }
});
