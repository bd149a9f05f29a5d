/**
 * The kernel ring estimate behind live's small-ring note (src/capture/ring-estimate.ts): libpcap's immediate-mode
 * (TPACKET_V2) layout for lo's 64 KiB MTU, an Ethernet MTU and a short snapshot length, and when the note is given.
 * The lo figures are the ones the live bench measured (128 KiB resident per packet slot, ~256 packets in 32 MiB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CAP_MAX_SNAPLEN } from '../../src/capture/live';
import { RING_NOTE_MIN_PACKETS, immediateRingEstimate, interfaceMtu, smallRingNote } from '../../src/capture/ring-estimate';

const MIB = 1024 * 1024;
const TIMEOUT = { timeout: 10_000 };

test('lo with a full snapshot length: one 128 KiB slot per packet, 256 packets in 32 MiB', TIMEOUT, () => {
  assert.deepEqual(immediateRingEstimate(65536, CAP_MAX_SNAPLEN, 32 * MIB), { slotBytes: 128 * 1024, packets: 256 });
  assert.deepEqual(immediateRingEstimate(65536, 262144, 32 * MIB), { slotBytes: 128 * 1024, packets: 256 });
});

test('Ethernet MTU: two frames per 4 KiB block, 16 k packets in 32 MiB', TIMEOUT, () => {
  assert.deepEqual(immediateRingEstimate(1500, 262144, 32 * MIB), { slotBytes: 2048, packets: 16384 });
});

test('lo with -s 2048: a 4 KiB slot, 8 k packets in 32 MiB', TIMEOUT, () => {
  assert.deepEqual(immediateRingEstimate(65536, 2048, 32 * MIB), { slotBytes: 4096, packets: 8192 });
});

test('the note: given for lo, not for an Ethernet MTU or a ring that holds enough', TIMEOUT, () => {
  const lo = smallRingNote({ device: 'x', engine: 'cap', snaplen: 65535, bufferBytes: 32 * MIB, mtu: 65536 });
  assert.match(lo ?? '', /about 256 packets/);
  assert.match(lo ?? '', /--engine dumpcap .*--engine tcpdump/);
  const td = smallRingNote({ device: 'x', engine: 'tcpdump', snaplen: 262144, bufferBytes: 32 * MIB, mtu: 65536 });
  assert.match(td ?? '', /-s 2048: about 8192 packets/);
  assert.equal(smallRingNote({ device: 'x', engine: 'tcpdump', snaplen: 2048, bufferBytes: 32 * MIB, mtu: 65536 }), undefined);
  // dumpcap's ring is not an immediate-mode one: no note whatever the MTU
  assert.equal(smallRingNote({ device: 'x', engine: 'dumpcap', snaplen: 262144, bufferBytes: 32 * MIB, mtu: 65536 }), undefined);
  assert.equal(smallRingNote({ device: 'x', engine: 'cap', snaplen: 65535, bufferBytes: 32 * MIB, mtu: 1500 }), undefined);
  // cap's ring ignores keyscope's -s: a larger -B is what holds more
  assert.match(smallRingNote({ device: 'x', engine: 'cap', snaplen: 2048, bufferBytes: 32 * MIB, mtu: 65536 }) ?? '', /about 256 packets/);
  assert.equal(smallRingNote({ device: 'x', engine: 'cap', snaplen: 65535, bufferBytes: RING_NOTE_MIN_PACKETS * 128 * 1024, mtu: 65536 }), undefined);
});

test("the MTU read from /sys: lo's where the machine has one; a name that is not an interface gives none", TIMEOUT, (t) => {
  if (!fs.existsSync('/sys/class/net/lo/mtu')) return t.skip('no /sys/class/net/lo');
  assert.equal(interfaceMtu('lo'), Number(fs.readFileSync('/sys/class/net/lo/mtu', 'utf8').trim()));
  assert.equal(interfaceMtu('../../etc/passwd'), undefined);
  assert.equal(interfaceMtu('no-such-if0'), undefined);
});
