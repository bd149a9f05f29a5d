/**
 * A capture whose packet text attacks the dashboard: a Digest username with terminal escape sequences (clear
 * screen, set window title, bell) and blessed tags. An MSK request with credentials, answered 401 (credentials
 * rejected): the username reaches a transaction's B-TID and a diagnostic's message.
 */
import { ipv4, tcp } from '../decode/craft';
import { pcapHeader, pcapRecord } from '../capture/helpers';

export const HOSTILE_USER = '\x1b[2J\x1b]0;pwned\x07{bold}evil{/bold}@bsf.example';
export const HOSTILE_UE = '10.66.0.5';

export function hostileCapture(): Buffer {
  const ue = HOSTILE_UE;
  const bmsc = '10.66.0.1';
  const uri = '/keymanagement?requesttype=msk-request';
  const request = Buffer.from(
    `POST ${uri} HTTP/1.1\r\nHost: bmsc.example\r\n` +
      `Authorization: Digest username="${HOSTILE_USER}", realm="bmsc.example", nonce="bm9uY2U=", uri="${uri}", ` +
      'response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="Y25vbmNl", algorithm=MD5\r\n' +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
  const response = Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="bmsc.example", nonce="bmV3", qop="auth", algorithm=MD5\r\nContent-Length: 0\r\n\r\n', 'latin1');
  const c2s = (o: Parameters<typeof tcp>[0], p: Buffer) => ipv4({ src: ue, dst: bmsc, protocol: 6 }, tcp({ sport: 40000, dport: 80, ...o }, p));
  const s2c = (o: Parameters<typeof tcp>[0], p: Buffer) => ipv4({ src: bmsc, dst: ue, protocol: 6 }, tcp({ sport: 80, dport: 40000, ...o }, p));
  const empty = Buffer.alloc(0);
  const packets = [
    c2s({ seq: 1000, flags: 0x02 }, empty),
    s2c({ seq: 5000, ack: 1001, flags: 0x12 }, empty),
    c2s({ seq: 1001, ack: 5001, flags: 0x10 }, empty),
    c2s({ seq: 1001, ack: 5001, flags: 0x18 }, request),
    s2c({ seq: 5001, ack: 1001 + request.length, flags: 0x18 }, response),
    c2s({ seq: 1001 + request.length, ack: 5001 + response.length, flags: 0x11 }, empty),
    s2c({ seq: 5001 + response.length, ack: 1002 + request.length, flags: 0x11 }, empty),
  ];
  const parts = [pcapHeader({ linkType: 101 })];
  packets.forEach((data, i) => parts.push(pcapRecord({ tsSec: 1_790_000_000, tsFrac: 1000 * (i + 1), data })));
  return Buffer.concat(parts);
}
