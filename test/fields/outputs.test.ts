/**
 * `-V`, `--json` and `-T fields` read one registry (src/fields/registry.ts). On every bundled capture and on the generated
 * tunnel capture, frame by frame:
 * - the `-V` header blocks (frame, link, VLAN, IP, UDP, TCP, GTP-U) are exactly the registry's `label: value` lines of the
 *   fields the frame has, nothing more, nothing less;
 * - every field with a `json` path has its values there in `--json` (the innermost occurrences, when the JSON keeps only
 *   the innermost header), and every `--json` leaf is some field's path or listed in JSON_ONLY with the reason.
 * - the HTTP and MIKEY `-V` blocks (src/fields/http-fields.ts, mikey-fields.ts) are, apart from the structure lines
 *   (STRUCTURE: titles of payloads and subtrees, expert items), exactly the registry's lines of the http, digest and
 *   mikey fields the frame has: `label: value` with the field's display of the value, `[label: value]` for generated
 *   fields, the value alone for inline ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeText } from '../../src/common/escape';
import { formatValue, treeLine } from '../../src/fields/format';
import { allFields, FIELD_LAYERS } from '../../src/fields/registry';
import type { FieldDef, FieldValue } from '../../src/fields/types';
import { execFileSync } from '../support/proc';
import { capturePath, cliPath, repoRoot } from '../support/repo';
import { AGG, keyscopeRows } from './oracle';
import { writeTunnelCapture } from './tunnel-capture';

/**
 * `--json` leaves no field names, and why. A path ending in `.*` covers everything under it. Paths have no array indexes.
 */
const JSON_ONLY: Readonly<Record<string, string>> = {
  src: 'summary column: the innermost source address (ip.src / ipv6.src, or eth.src without IP)',
  dst: 'summary column: the innermost destination address',
  srcPort: 'summary column: the innermost transport source port (udp.srcport / tcp.srcport)',
  dstPort: 'summary column: the innermost transport destination port',
  transport: 'summary column: udp or tcp (the udp / tcp protocol fields)',
  protocol: 'what decoding stopped at when there is no transport (IPv4 fragment, ICMP, GTP-U Echo Request, ARP, …)',
  vlans: 'every tag\'s VLAN ID, outermost first: vlan.id and ieee8021ad.id together',
  'ip.fragment.offset': 'in bytes; ip.frag_offset counts 8-byte units as tshark does',
  'tunnel.kind': 'always gtp-u (the gtp protocol field)',
  'tunnel.outerSrc': 'the first ip.src / ipv6.src of a tunnelled frame',
  'tunnel.outerDst': 'the first ip.dst / ipv6.dst of a tunnelled frame',
  'tunnel.outerSrcPort': 'the first udp.srcport of a tunnelled frame',
  'tunnel.outerDstPort': 'the first udp.dstport of a tunnelled frame',
  'tunnel.outerReassembledFrom': 'fragments of the outer datagram (keyscope.reassembled_from of the outer header)',
  'problems.offset': 'byte offset of the problem in the frame (shown with it in the -V Expert Info)',
  'problems.length': 'byte length of the problem',
  'mikey.nextPayload': 'the first of mikey.next_payload (which lists the header\'s and every payload\'s in wire order)',
  'mikey.payloads.nextPayload': 'the rest of mikey.next_payload',
  'mikey.dataTypeName': 'name of mikey.type',
  'mikey.csIdMapTypeName': 'name of mikey.cs_id_map_type',
  'mikey.genericIds.*': 'GENERIC-ID map entries (RFC 6043): decoded, no fields yet',
  'mikey.payloads.type': 'payload code: which of mikey.kemac, mikey.t, mikey.v, … the payload is',
  'mikey.payloads.typeName': 'payload name',
  'mikey.payloads.offset': 'byte offset of the payload in the message',
  'mikey.payloads.length': 'byte length of the payload',
  'mikey.payloads.encrData': 'KEMAC encrypted key data (mikey.kemac.key_data_len is its length; masked without --show-keys)',
  'mikey.payloads.encrDataOffset': 'offset of the KEMAC key data',
  'mikey.payloads.macOffset': 'offset of the MAC the KEMAC / V payload covers up to',
  'mikey.payloads.data': 'bytes of PKE, ID, CERT, EXT, TICKET and SAKKE payloads (mikey.*.len fields give their lengths, mikey.ext.data the EXT bytes)',
  'mikey.payloads.value': 'raw timestamp (mikey.counter / mikey.t.ntp decode it) and DH value',
  'mikey.payloads.counter': 'covered by mikey.counter for T payloads; RAND-R/TR (type 13) counters are the same text',
  'mikey.payloads.time': 'the NTP timestamp in ISO 8601 (mikey.t.ntp in tshark\'s format)',
  'mikey.payloads.ntpSeconds': 'NTP seconds (mikey.t.ntp)',
  'mikey.payloads.ntpFraction': 'NTP fraction (mikey.t.ntp)',
  'mikey.payloads.text': 'ID as text (mikey.mbms.idi / idr for MBMS)',
  'mikey.payloads.reserved': 'ERR reserved bytes',
  'mikey.payloads.kv': 'DH key validity (mikey.dh.kv)',
  'mikey.payloads.params': 'SAKKE parameter set (mikey.sakke.params) or the SP parameter list',
  'mikey.payloads.params.offset': 'offset of the SP parameter',
  'mikey.payloads.params.length': 'length of the SP parameter (mikey.sp.param.len)',
  'mikey.payloads.params.paramTypeName': 'name of mikey.sp.param.type',
  'mikey.payloads.params.value': 'SP parameter value',
  'mikey.payloads.params.valueName': 'name of the SP parameter value',
  'mikey.payloads.keyIds.*': 'Key ID extension entries (RFC 4563): the mikey.mbms.* fields decode them',
  'mikey.payloads.keys.*': 'key data sub-payloads of a KEMAC (mikey.key.* for the first, as tshark; masked without --show-keys)',
  'mikey.mbms.counter': 'same value as mikey.counter',
  'mikey.mbms.v': 'same value as mikey.v.set',
  'mikey.mbms.keySource': 'where the verifying key came from (keys file line, derived)',
  'mikey.mbms.keys.*': 'keys the message delivered (masked without --show-keys)',
  'http.kind': 'request or response (http.request / http.response)',
  'http.connection': 'keyscope\'s TCP connection id of the message',
  'http.frames': 'frames that carried the message',
  'http.responseFrame': 'for a request: the frame that completed its response',
  'http.requestFrame': 'for a response: the first frame of its request (http.request_in is the frame that completed it, as tshark)',
  'http.headers.name': 'header names (each header the http.* header fields know is a field of its own)',
  'http.headers.value': 'header values',
  'http.headersDropped': 'headers past the per-message limit',
  'http.interim': 'a 1xx response',
  'http.digest.*': 'Digest parameters as sent (name, value, quoted); the digest.* fields are their decoded values',
  'http.body.*': 'body framing and the MBMS XML decode: no fields yet (http.body_length is the length)',
  'mikey.payloads.signature': 'signature bytes (mikey.sign.len is the length)',
  'mikey.payloads.hash': 'CHASH bytes',
  'mikey.payloads.ticketType': 'TICKET type: no field yet',
  'mikey.payloads.spi': 'DH SPI',
  'mikey.payloads.interval.*': 'DH key validity interval',
  '*Name': 'the name of the code beside it (dataTypeName of dataType, …): -T fields prints codes, as tshark',
};

/**
 * Fields that may have values where `--json` has none, and why (otherwise a field with values must have them in JSON).
 */
const MAY_BE_ABSENT: Readonly<Record<string, string>> = {
  'udp.length': 'the JSON udp object is the innermost datagram\'s: a tunnel\'s outer UDP header is not there',
  'http.body_length': 'no JSON body object for a message without a body',
  'keyscope.payload_length': 'as udp.length',
  'ip.ttl': 'the JSON ip object is the innermost header: an IPv4 tunnel around IPv6 is not there',
  'ip.proto': 'as ip.ttl',
  'ipv6.hlim': 'as ip.ttl, for an IPv6 tunnel around IPv4',
  'keyscope.ipv6.upper_proto': 'as ipv6.hlim',
  'ip.id': 'JSON has ip.fragment (id, moreFragments) on fragments only',
  'ip.flags.mf': 'as ip.id',
};

/** Fields printed elsewhere in `--json` or not at all (derived from other frames). */
const NOT_IN_JSON = 'no json path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-outputs-'));
const tunnels = path.join(dir, 'tunnels.pcap');
writeTunnelCapture(tunnels);
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const captures = fs.readdirSync(path.join(repoRoot(), 'captures')).filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n)).sort();
const files: [string, string, string[]][] = [
  ...captures.map((n): [string, string, string[]] => {
    const keys = capturePath(n.replace(/\.(pcap|pcapng)(\.gz)?$/, '.keys'));
    return [n, capturePath(n), fs.existsSync(keys) ? ['--keys', keys] : []];
  }),
  ['generated tunnels.pcap', tunnels, []],
];

const fields = allFields();
/** Layers whose -V blocks are protocol trees (checked by appLines), not header blocks. */
const APP_LAYERS = new Set(['http', 'digest', 'mikey']);
const treeLayers = new Set(FIELD_LAYERS.filter((l) => l.tree && !APP_LAYERS.has(l.name)).flatMap((l) => l.fields.map((f) => f.name)));
const labelled = fields.filter((f) => f.label !== undefined && treeLayers.has(f.name));
const withJson = fields.filter((f) => f.json !== undefined);

function cli(args: string[]): string {
  return execFileSync(process.execPath, [cliPath(), 'dissect', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** Header-block lines of one `-V` frame: indented lines under titles that are not the HTTP, MIKEY or Expert Info blocks. */
function headerLines(frameText: string): string[] {
  const out: string[] = [];
  let inHeader = false;
  for (const l of frameText.split('\n')) {
    if (!l.startsWith(' ')) inHeader = !/^(Hypertext Transfer Protocol|Multimedia Internet KEYing|Expert Info:)/.test(l);
    else if (inHeader) out.push(l.trim());
  }
  return out;
}

/** Lines of the HTTP and MIKEY blocks that are structure, not a field's value (trimmed). */
const STRUCTURE: readonly RegExp[] = [
  /^\S.*  \[offset \d+, length \d+\]$/, // a MIKEY payload's title (its name and summary, where it is in the message)
  /^Key data \(KEY\): /, /^SRTP ID$/, /^Parameter: /, /^MBMS \(TS 33\.246\)$/, /^Delivered key: /, /^\[Malformed: no common header\]$/,
  /^(WWW|Proxy)-Authenticate challenge: /, /^(Proxy-)?Authorization credentials: /, /^(Proxy-)?Authentication-Info:$/, /^MSK$/, /^Response$/,
  /^\[(error|warning|note|chat)\] [\w-]+: /, // the message's expert items (also in Expert Info)
];
const appTreeFields = FIELD_LAYERS.filter((l) => APP_LAYERS.has(l.name)).flatMap((l) => l.fields).filter((f) => f.label !== undefined || f.inline);

/** The HTTP and MIKEY block lines of one `-V` frame, trimmed. */
function appLines(frameText: string): string[] {
  const out: string[] = [];
  let inApp = false;
  for (const l of frameText.split('\n')) {
    if (!l.startsWith(' ')) inApp = /^(Hypertext Transfer Protocol|Multimedia Internet KEYing)/.test(l);
    else if (inApp) out.push(l.trim());
  }
  return out;
}

/** A `-T fields` value back as the field's value (text fields stay as printed: escaped, as the tree shows them). */
function fromFieldText(def: FieldDef, t: string): FieldValue {
  switch (def.type) {
    case 'uint':
    case 'framenum':
      return def.base === 'hex' ? parseInt(t, 16) : Number(t);
    case 'bool':
      return t === '1';
    case 'bytes':
      return /^([0-9a-f]{2})*$/.test(t) ? Buffer.from(t, 'hex') : t; // a masked key is text
    default:
      return t;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values at a json path: `a.b[k=v1|v2].c`, arrays flattened, `[k=…]` keeps the objects whose k is one of the values. */
function resolve(root: Json, p: string): Json[] {
  let nodes: Json[] = [root];
  for (const seg of p.split('.')) {
    const m = /^([^[]+)(?:\[(\w+)=([^\]]+)\])?$/.exec(seg);
    if (!m) throw new Error(`bad json path ${p}`);
    const next: Json[] = [];
    for (const n of nodes) {
      if (n === null || typeof n !== 'object' || Array.isArray(n) || !(m[1] in n)) continue;
      const c = n[m[1]];
      for (const x of Array.isArray(c) ? c : [c]) {
        if (m[2] !== undefined) {
          if (x === null || typeof x !== 'object' || Array.isArray(x)) continue;
          const want = m[3].split('|');
          if (!want.includes(String(x[m[2]]).toLowerCase())) continue;
        }
        next.push(x);
      }
    }
    nodes = next.flatMap((x) => (Array.isArray(x) ? x : [x]));
  }
  return nodes;
}

/** A JSON value as `-T fields` prints the field's value (undefined: not a value, e.g. null). */
function asFieldText(def: FieldDef, x: Json): string | undefined {
  if (x === null) return undefined;
  // an object at the path stands for the field's presence (protocols, subtrees, http.request / http.response)
  if (typeof x === 'object') return formatValue(def, true);
  if (def.type === 'time' && typeof x === 'number') return x.toFixed(6);
  if (def.type === 'bytes' && typeof x === 'string') return x === '' ? undefined : formatValue(def, Buffer.from(x, 'hex'));
  if (def.type === 'string' && typeof x === 'string') return escapeText(x);
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'string') return formatValue(def, x as FieldValue);
  return JSON.stringify(x);
}

function leaves(x: Json, p: string, out: Set<string>): void {
  if (x === null || typeof x !== 'object') out.add(p);
  else if (Array.isArray(x)) for (const e of x) leaves(e, p, out);
  else for (const [k, v] of Object.entries(x)) leaves(v, p ? `${p}.${k}` : k, out);
}

const claimed = new Set(withJson.map((f) => (f.json ?? '').replace(/\[[^\]]*\]/g, '')));
function explained(leaf: string): boolean {
  if (claimed.has(leaf) || leaf in JSON_ONLY) return true;
  if (leaf.endsWith('Name')) return true; // '*Name'
  return Object.keys(JSON_ONLY).some((k) => k.endsWith('.*') && leaf.startsWith(k.slice(0, -1)));
}

test('every labelled field is in a -V header layer, every json path resolves to something on some capture', () => {
  for (const f of labelled) assert.ok(f.label && f.label.length > 0);
  assert.ok(withJson.length > 60, `${withJson.length} fields with a json path`);
  assert.ok(NOT_IN_JSON);
});

const seenJson = new Set<string>();
const seenApp = new Set<string>();
const seenValues = new Set<string>();

for (const [name, file, extra] of files) {
  test(`-V header blocks and --json leaves are registry fields, and registry fields are in them: ${name}`, { timeout: 120_000 }, () => {
    const rows = keyscopeRows(file, fields.map((f) => f.name), extra);
    const trees = cli(['-V', ...extra, file]).split('\n\n').filter((t) => t.trim().length > 0);
    const json = cli(['--json', ...extra, file]).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
    assert.equal(trees.length, rows.length, '-V frame count');
    assert.equal(json.length, rows.length, '--json frame count');
    const problems: string[] = [];
    rows.forEach((row, i) => {
      const values = (f: FieldDef) => {
        const cell = row[fields.indexOf(f)] ?? '';
        return cell === '' ? [] : cell.split(AGG);
      };
      // -V: the header blocks are exactly the labelled fields' values
      const want = labelled.flatMap((f) => values(f).map((x) => `${f.label}: ${x}`)).sort();
      const got = headerLines(trees[i]).sort();
      const missing = want.filter((l) => !got.includes(l));
      const extraLines = got.filter((l) => !want.includes(l));
      if (missing.length || extraLines.length) problems.push(`frame ${i + 1} -V: missing ${JSON.stringify(missing)} not from the registry ${JSON.stringify(extraLines)}`);
      // -V: the HTTP and MIKEY blocks are the registry's lines of the app fields, plus structure
      const appWant = appTreeFields.flatMap((f) => values(f).map((x) => treeLine(f, fromFieldText(f, x)).trim())).sort();
      const appGot = appLines(trees[i]).filter((l) => !STRUCTURE.some((r) => r.test(l))).sort();
      const left = [...appGot];
      const appMissing = appWant.filter((l) => {
        const k = left.indexOf(l);
        if (k < 0) return true;
        left.splice(k, 1);
        return false;
      });
      if (appMissing.length || left.length) problems.push(`frame ${i + 1} -V HTTP/MIKEY: missing ${JSON.stringify(appMissing)} not from the registry ${JSON.stringify(left)}`);
      if (appGot.length > 0) seenApp.add(name);
      // --json: each field's json values are its (innermost) values
      const obj = json[i];
      for (const f of withJson) {
        const mine = values(f).map((x) => (f.type === 'time' ? Number(x).toFixed(6) : x));
        const theirs = resolve(obj, f.json ?? '').flatMap((x) => {
          const t = asFieldText(f, x);
          return t === undefined ? [] : [t];
        });
        if (theirs.length > 0) seenJson.add(f.name);
        if (mine.length > 0) seenValues.add(f.name);
        const tail = mine.slice(Math.max(0, mine.length - theirs.length));
        if (theirs.length > mine.length || JSON.stringify(tail) !== JSON.stringify(theirs) || (mine.length > 0 && theirs.length === 0 && !(f.name in MAY_BE_ABSENT)))
          problems.push(`frame ${i + 1} ${f.name} (json ${f.json}): fields ${JSON.stringify(mine)} json ${JSON.stringify(theirs)}`);
      }
      const ls = new Set<string>();
      leaves(obj, '', ls);
      for (const l of ls) if (!explained(l)) problems.push(`frame ${i + 1}: --json leaf ${l} is no field's json path and not in JSON_ONLY`);
    });
    assert.deepEqual(problems.slice(0, 15), []);
  });
}

test('the HTTP and MIKEY checks saw HTTP and MIKEY blocks', () => {
  for (const c of ['http-digest-loopback.pcap', 'mikey-all-payloads.pcap', 'mikey-mbms-kinds.pcap', 'sim-clean.pcap']) assert.ok(seenApp.has(c), c);
});

test('every field with values on some capture had them in --json there (no stale json paths)', () => {
  const unseen = withJson.filter((f) => seenValues.has(f.name) && !seenJson.has(f.name)).map((f) => `${f.name} → ${f.json}`);
  assert.deepEqual(unseen, []);
});
