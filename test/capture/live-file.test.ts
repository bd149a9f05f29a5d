/**
 * The pieces of `live -w` and `--engine tcpdump` that need no capture: dumpcap's `-b` conditions and ring file
 * names, and tcpdump's end-of-capture counters as tcpdump 4.99 prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRingOption, ringFileName } from '../../src/capture/live-file';
import { parseTcpdumpCounters, tcpdumpLoss } from '../../src/capture/tcpdump-engine';

test('-b conditions accumulate; bad ones are refused with the reason', () => {
  let r = parseRingOption('filesize:100');
  r = parseRingOption('files:5', r);
  r = parseRingOption('duration:2.5', r);
  assert.deepEqual(r, { fileSizeKB: 100, files: 5, durationSeconds: 2.5 });
  assert.throws(() => parseRingOption('packets:3'), /not a ring buffer condition/);
  assert.throws(() => parseRingOption('files:0'), /positive whole number/);
  assert.throws(() => parseRingOption('filesize:1.5'), /positive whole number/);
  assert.throws(() => parseRingOption('duration:-1'), /positive number of seconds/);
});

test('ring file names as dumpcap makes them: stem, 5-digit number, local time, extension', () => {
  const ms = new Date(2025, 0, 2, 3, 4, 5).getTime();
  assert.equal(ringFileName('/tmp/cap/out.pcapng', 1, ms), '/tmp/cap/out_00001_20250102030405.pcapng');
  assert.equal(ringFileName('lab', 123, ms), 'lab_00123_20250102030405');
  assert.equal(ringFileName('/x/.hidden', 2, ms), '/x/.hidden_00002_20250102030405');
});

test("tcpdump's counters", () => {
  const stderr = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n40111 packets captured\n40112 packets received by filter\n3 packets dropped by kernel\n';
  assert.deepEqual(parseTcpdumpCounters(stderr), { captured: 40111, receivedByFilter: 40112, droppedByKernel: 3 });
  assert.deepEqual(parseTcpdumpCounters('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n2 packets dropped by interface\n'), {
    captured: 1,
    receivedByFilter: 1,
    droppedByKernel: 0,
    droppedByInterface: 2,
  });
  assert.deepEqual(parseTcpdumpCounters('tcpdump: killed'), {});
});

test("tcpdump's loss: on a loopback interface the kernel counts each packet twice (measured on lo: 4000 packets, 1986 captured)", () => {
  const lo = parseTcpdumpCounters('1986 packets captured\n8000 packets received by filter\n4028 packets dropped by kernel\n');
  assert.equal(tcpdumpLoss(lo, true), 2014);
  assert.equal(tcpdumpLoss(parseTcpdumpCounters('4000 packets captured\n8000 packets received by filter\n0 packets dropped by kernel\n'), true), 0);
  // elsewhere the kernel's and the interface's counters as they are
  assert.equal(tcpdumpLoss(lo, false), 4028);
  assert.equal(tcpdumpLoss(parseTcpdumpCounters('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n2 packets dropped by interface\n'), false), 2);
  assert.equal(tcpdumpLoss({}, true), undefined);
});
