import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../../src/common/problem';
import type { StreamChunk, StreamDirection } from '../../../src/reassembly/types';
import { HttpConnectionParser, HttpStreamHandler } from '../../../src/protocols/http/parser';
import type { TcpConnectionInfo } from '../../../src/reassembly/types';
import type { HttpLimits, HttpMessage } from '../../../src/protocols/http/types';

class Feeder {
  msgs: HttpMessage[] = [];
  connProblems: Problem[] = [];
  parser: HttpConnectionParser;
  offsets: [number, number] = [0, 0];
  frame = 0;
  constructor(limits?: Partial<HttpLimits>) {
    this.parser = new HttpConnectionParser(7, { message: (m) => this.msgs.push(m), problem: (_c, _f, p) => this.connProblems.push(p) }, { limits });
  }
  send(dir: StreamDirection, data: string | Buffer, frame = ++this.frame): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const c: StreamChunk = { streamOffset: this.offsets[dir], data: b, frame, frames: [frame], tsSec: 1000 + frame, tsNsec: 0 };
    this.offsets[dir] += b.length;
    this.parser.data(dir, c);
  }
  gap(dir: StreamDirection, length: number): void {
    const frame = ++this.frame;
    this.parser.gap(dir, { streamOffset: this.offsets[dir], length, frame, tsSec: 1000 + frame, tsNsec: 0 });
    this.offsets[dir] += length;
  }
  end(): void {
    this.parser.end(0, 'fin', { tsSec: 2000, tsNsec: 0 });
    this.parser.end(1, 'fin', { tsSec: 2000, tsNsec: 0 });
  }
  codes(m: HttpMessage): string[] {
    return m.problems.map((p) => p.code);
  }
}

const REQ1 = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
const REQ2 = 'POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc\r\nContent-Length: 5\r\n\r\nhello';
const RSP1 = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc';
const RSP2 =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: done\r\n\r\n';

test('keep-alive and pipelining: requests and responses paired in order, frames linked', () => {
  const f = new Feeder();
  f.send(0, REQ1 + REQ2, 10);
  f.send(1, RSP1, 11);
  f.send(1, RSP2, 12);
  f.end();
  const [r1, r2, s1, s2] = [f.msgs[0], f.msgs[1], f.msgs[2], f.msgs[3]];
  assert.equal(f.msgs.length, 4);
  assert.equal(r1.method, 'GET');
  assert.equal(r2.uri, '/keymanagement?requesttype=msk-request');
  assert.equal(r2.body.toString(), 'hello');
  assert.equal(s1.requestFrame, 10);
  assert.equal(r1.responseFrame, 11);
  assert.equal(s2.requestFrame, 10);
  assert.equal(s2.request, r2);
  assert.equal(r2.responseFrame, 12);
  assert.equal(s2.framing, 'chunked');
  assert.equal(s2.body.toString(), 'Wikipedia in\r\n\r\nchunks.');
  assert.deepEqual(s2.trailers.map((h) => [h.name, h.value]), [['X-T', 'done']]);
  assert.deepEqual(f.msgs.flatMap((m) => m.problems), []);
  assert.deepEqual(f.connProblems, []);
});

function summary(msgs: HttpMessage[]): unknown {
  return msgs.map((m) => ({
    kind: m.kind,
    start: m.method ?? m.status,
    headers: m.headers.map((h) => `${h.name}=${h.value}`),
    body: m.body.toString('latin1'),
    trailers: m.trailers.map((h) => `${h.name}=${h.value}`),
    problems: m.problems.map((p) => p.code),
    complete: m.complete,
  }));
}

test('headers and bodies split at every byte boundary, and byte by byte', () => {
  const client = REQ1 + REQ2;
  const server = RSP1 + RSP2;
  const base = new Feeder();
  base.send(0, client);
  base.send(1, server);
  base.end();
  const expected = summary(base.msgs);
  for (let i = 1; i < server.length; i++) {
    const f = new Feeder();
    f.send(0, client.slice(0, Math.min(i, client.length)));
    if (i < client.length) f.send(0, client.slice(i));
    f.send(1, server.slice(0, i));
    f.send(1, server.slice(i));
    f.end();
    assert.deepEqual(summary(f.msgs), expected, `split at ${i}`);
  }
  const f = new Feeder();
  for (const ch of client) f.send(0, ch);
  for (const ch of server) f.send(1, ch);
  f.end();
  assert.deepEqual(summary(f.msgs), expected);
  // a message spread over many chunks lists all their frames
  assert.equal(f.msgs[0].frames.length, REQ1.length);
});

test('a request split into reordered and retransmitted segments, delivered in order with overlaps', () => {
  const body = '<?xml version="1.0"?><mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>';
  const req = Buffer.from(
    `POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc.home1.net:1234\r\nContent-Type: application/mbms-msk+xml\r\nContent-Length: ${body.length}\r\nUser-Agent: MBMSAgent; Release-6 3gpp-gba\r\n\r\n${body}`,
  );
  let seed = 12345;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let round = 0; round < 200; round++) {
    const msgs: HttpMessage[] = [];
    const p = new HttpConnectionParser(1, { message: (m) => msgs.push(m) });
    // random cut points; every segment may be delivered again (a retransmission overlapping what was consumed)
    let off = 0;
    let frame = 0;
    while (off < req.length) {
      const len = 1 + rnd(40);
      const end = Math.min(req.length, off + len);
      const back = rnd(3) === 0 ? rnd(off + 1) : 0;
      frame++;
      p.data(0, { streamOffset: off - back, data: req.subarray(off - back, end), frame, frames: [frame], tsSec: frame, tsNsec: 0 });
      off = end;
    }
    p.end(0, 'fin', { tsSec: 99, tsNsec: 0 });
    assert.equal(msgs.length, 1, `round ${round}`);
    assert.equal(msgs[0].body.toString(), body);
    assert.equal(msgs[0].mbms?.kind, 'msk-request');
    assert.equal(msgs[0].mbms?.msks[0].mskId, '68c90000');
    assert.deepEqual(msgs[0].problems, []);
  }
});

test('HEAD, 204 and 304 responses have no body', () => {
  const f = new Feeder();
  f.send(0, 'HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n');
  f.send(1, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n');
  f.end();
  const rsp = f.msgs.filter((m) => m.kind === 'response');
  assert.deepEqual(rsp.map((m) => [m.status, m.bodyLength, m.complete]), [
    [200, 0, true],
    [204, 0, true],
    [304, 0, true],
  ]);
  assert.deepEqual(f.msgs.flatMap((m) => m.problems), []);
});

test('100 Continue: the interim response does not consume the request', () => {
  const f = new Feeder();
  f.send(0, 'POST /k HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 1);
  f.send(1, 'HTTP/1.1 100 Continue\r\n\r\n', 2);
  f.send(0, 'data', 3);
  f.send(1, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 4);
  f.end();
  const [interim, req, final] = f.msgs;
  assert.equal(interim.status, 100);
  assert.equal(interim.interim, true);
  assert.equal(interim.requestFrame, 1);
  assert.equal(req.body.toString(), 'data');
  assert.equal(req.responseFrame, 4);
  assert.equal(final.requestFrame, 1);
  assert.equal(req.frames.join(','), '1,3');
});

test('Expect: 100-continue answered with 401: a client that skips the body is followed', () => {
  const f = new Feeder();
  f.send(0, 'POST /k HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 1);
  f.send(1, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r", nonce="n"\r\nContent-Length: 0\r\n\r\n', 2);
  f.send(0, 'POST /k HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\ndata', 3);
  f.end();
  const reqs = f.msgs.filter((m) => m.kind === 'request');
  assert.equal(reqs.length, 2);
  assert.ok(reqs[0].problems.some((p) => p.code === 'http-expect-no-body'));
  assert.equal(reqs[1].body.toString(), 'data');
});

test('Connection: close body read to the end of the stream', () => {
  const f = new Feeder();
  f.send(0, 'GET / HTTP/1.0\r\n\r\n');
  f.send(1, 'HTTP/1.0 200 OK\r\nConnection: close\r\n\r\npart1 ');
  f.send(1, 'part2');
  f.end();
  assert.equal(f.msgs[1].framing, 'until-close');
  assert.equal(f.msgs[1].body.toString(), 'part1 part2');
  assert.equal(f.msgs[1].complete, true);
});

test('a gap inside a Content-Length body is counted; a gap cutting a header resyncs to the next message', () => {
  const f = new Feeder();
  f.send(0, 'POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123');
  f.gap(0, 3);
  f.send(0, '789GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
  f.send(0, 'POST /c HTTP/1.1\r\nHost: a\r\nConte');
  f.gap(0, 20);
  f.send(0, 'ngth: 3\r\n\r\nabcPUT /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
  f.end();
  const reqs = f.msgs.filter((m) => m.kind === 'request');
  assert.deepEqual(reqs.map((m) => m.uri), ['/a', '/b', '/d']);
  assert.equal(reqs[0].bodyLength, 10);
  assert.equal(reqs[0].bodyLost, 3);
  assert.equal(reqs[0].body.toString(), '0123789');
  assert.ok(reqs[0].problems.some((p) => p.code === 'http-gap-in-body'));
  assert.ok(f.connProblems.some((p) => p.code === 'http-gap-in-header'));
  assert.ok(f.connProblems.some((p) => p.code === 'http-resync'));
});

test('a gap past the end of a body cuts the message and parsing resumes at the next status line', () => {
  const f = new Feeder();
  f.send(0, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n');
  f.send(1, 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx');
  f.gap(1, 150);
  f.send(1, 'tail of an unseen body\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno');
  f.end();
  const rsp = f.msgs.filter((m) => m.kind === 'response');
  assert.equal(rsp.length, 2);
  assert.equal(rsp[0].complete, false);
  assert.ok(rsp[0].problems.some((p) => p.code === 'http-gap-cut-message'));
  assert.equal(rsp[1].status, 404);
  assert.equal(rsp[1].body.toString(), 'no');
  assert.equal(rsp[1].requestFrame, 1);
});

test('capture starting mid-message: resync to the first start line', () => {
  const f = new Feeder();
  f.send(1, 'ody of something\r\nmore\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz');
  f.end();
  assert.equal(f.msgs.length, 1);
  assert.equal(f.msgs[0].status, 200);
  assert.ok(f.msgs[0].problems.some((p) => p.code === 'http-response-without-request'));
});

test('hostile lengths become problems', () => {
  const cases: [string, string][] = [
    ['Content-Length: 1e20', 'http-bad-content-length'],
    ['Content-Length: -5', 'http-bad-content-length'],
    ['Content-Length: 5, 6', 'http-bad-content-length'],
    ['Content-Length: 100000000000000000000', 'http-content-length-huge'],
  ];
  for (const [h, code] of cases) {
    const f = new Feeder();
    f.send(0, 'GET / HTTP/1.1\r\n\r\n');
    f.send(1, `HTTP/1.1 200 OK\r\n${h}\r\n\r\nbody`);
    f.end();
    assert.ok(f.msgs[1].problems.some((p) => p.code === code), h);
    assert.equal(f.msgs[1].body.toString(), 'body', h);
  }
  const f = new Feeder();
  f.send(0, 'GET / HTTP/1.1\r\n\r\n');
  f.send(1, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc');
  f.end();
  assert.ok(f.msgs[1].problems.some((p) => p.code === 'http-chunk-size-overflow'));
  const g = new Feeder();
  g.send(0, 'POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
  g.end();
  assert.ok(g.msgs[0].problems.some((p) => p.code === 'http-bad-content-length'));
  assert.equal(g.msgs[1].uri, '/next');
});

test('limits: header size, header count, body buffering', () => {
  const f = new Feeder({ maxHeaderBytes: 200, maxHeaders: 3, maxBodyBytes: 10 });
  f.send(0, `GET /big HTTP/1.1\r\nX-Long: ${'a'.repeat(500)}\r\n\r\n`);
  f.send(0, 'GET /many HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n');
  f.send(0, `POST /body HTTP/1.1\r\nContent-Length: 100\r\n\r\n${'b'.repeat(100)}`);
  f.end();
  assert.ok(f.connProblems.some((p) => p.code === 'http-header-too-large'));
  const many = f.msgs.find((m) => m.uri === '/many') as HttpMessage;
  assert.equal(many.headers.length, 3);
  assert.equal(many.headersDropped, 2);
  assert.ok(many.problems.some((p) => p.code === 'http-too-many-headers'));
  const body = f.msgs.find((m) => m.uri === '/body') as HttpMessage;
  assert.equal(body.body.length, 10);
  assert.equal(body.bodyLength, 100);
  assert.equal(body.bodyTruncated, true);
  assert.ok(body.problems.some((p) => p.code === 'http-body-limit'));
});

test('a stream that is not HTTP is given up after a bounded sniff', () => {
  const f = new Feeder();
  const junk = Buffer.alloc(100_000, 0x41);
  for (let i = 0; i < 10; i++) f.send(0, junk);
  f.end();
  assert.equal(f.msgs.length, 0);
  assert.ok(f.connProblems.some((p) => p.code === 'http-not-http'));
});

test('truncated message at end of stream is reported', () => {
  const f = new Feeder();
  f.send(0, 'POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345');
  f.end();
  assert.equal(f.msgs[0].complete, false);
  assert.ok(f.msgs[0].problems.some((p) => p.code === 'http-truncated'));
  assert.ok(f.connProblems.some((p) => p.code === 'http-no-response'));
});

test('the end of the capture inside a message is http-end-of-capture (note), a close or reset http-truncated (warning)', () => {
  const msgs: HttpMessage[] = [];
  for (const reason of ['end-of-capture', 'rst'] as const) {
    const parser = new HttpConnectionParser(7, { message: (m) => msgs.push(m) }, {});
    const b = Buffer.from('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345', 'latin1');
    parser.data(0, { streamOffset: 0, data: b, frame: 1, frames: [1], tsSec: 1, tsNsec: 0 });
    parser.end(0, reason, { tsSec: 2, tsNsec: 0 });
  }
  assert.deepEqual(msgs.map((m) => m.problems.map((x) => [x.code, x.severity])), [[['http-end-of-capture', 'note']], [['http-truncated', 'warning']]]);
});

test('a trailer line over the header limit is http-trailer-too-long on the message, not http-header-too-large', () => {
  const f = new Feeder({ maxHeaderBytes: 200 });
  f.send(0, 'GET / HTTP/1.1\r\n\r\n');
  f.send(1, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: ${'t'.repeat(300)}\r\n\r\n`);
  f.end();
  assert.deepEqual(f.codes(f.msgs[1]), ['http-trailer-too-long']);
  assert.equal(f.msgs[1].complete, false);
  assert.ok(!f.connProblems.some((p) => p.code === 'http-header-too-large'));
});

test('Transfer-Encoding not ending in chunked: an error in a request, a note in a response (two codes)', () => {
  const f = new Feeder();
  f.send(0, 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n');
  f.send(1, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nbody');
  f.end();
  const byKind = (k: string) => f.msgs.find((m) => m.kind === k)?.problems.map((p) => [p.code, p.severity]);
  assert.deepEqual(byKind('request'), [['http-bad-transfer-encoding', 'error']]);
  assert.deepEqual(byKind('response'), [['http-response-transfer-encoding', 'note']]);
});

test('authentication header problems: offsets count from the start of the message, like every HTTP problem', () => {
  const f = new Feeder();
  const head = 'GET / HTTP/1.1\r\nHost: bmsc\r\nAuthorization:   Digest username="u", realm="r\r\n';
  f.send(0, `${head}\r\n`);
  f.end();
  const p = f.msgs[0].problems.find((x) => x.code === 'http-auth-unterminated-quote');
  assert.ok(p, JSON.stringify(f.msgs[0].problems));
  // the offset names the opening quote of the unterminated realm value in the message bytes
  assert.equal(p.offset, head.lastIndexOf('"'));
  const h = f.msgs[0].headers.find((x) => x.name === 'Authorization');
  assert.equal(h?.valueOffset, head.indexOf('Digest'));
});

test('never throws on random bytes', () => {
  let seed = 99;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const pieces = ['HTTP/1.1 200 OK\r\n', 'GET / HTTP/1.1\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', '\r\n', '5\r\n', 'zz', '\n', ':'];
  for (let round = 0; round < 300; round++) {
    const f = new Feeder({ maxHeaderBytes: 300 });
    for (let i = 0; i < 30; i++) {
      const dir = rnd(2) as StreamDirection;
      if (rnd(10) === 0) f.gap(dir, rnd(50) + 1);
      else f.send(dir, pieces[rnd(pieces.length)]);
    }
    f.end();
  }
});

test('101 Switching Protocols and CONNECT 2xx end HTTP parsing on the connection; HTTP/2 preface is not parsed', () => {
  const f = new Feeder();
  f.send(0, 'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  f.send(1, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello');
  f.send(0, '\x81\x85junk that is not http');
  f.end();
  assert.deepEqual(f.msgs.map((m) => m.method ?? m.status), ['GET', 101]);
  assert.deepEqual(f.connProblems, []);
  const c = new Feeder();
  c.send(0, 'CONNECT bmsc:443 HTTP/1.1\r\nHost: bmsc:443\r\n\r\n');
  c.send(1, 'HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01binary');
  c.send(0, '\x16\x03\x01more binary');
  c.end();
  assert.deepEqual(c.msgs.map((m) => m.method ?? m.status), ['CONNECT', 200]);
  assert.deepEqual(c.connProblems, []);
  const h2 = new Feeder();
  h2.send(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04');
  h2.end();
  assert.equal(h2.msgs.length, 0);
  assert.deepEqual(h2.connProblems.map((p) => p.code), ['http2-preface']);
});

test('header values: UTF-8 decoded when valid, bytes kept (ISO-8859-1) otherwise', () => {
  const f = new Feeder();
  f.send(0, Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nX-A: J\xc3\xa4s\xc3\xb8n\r\nX-B: ', 'latin1'), Buffer.from([0xe4, 0x0d, 0x0a, 0x0d, 0x0a])]));
  f.end();
  assert.deepEqual(f.msgs[0].headers.map((h) => h.value), ['Jäsøn', 'ä']);
});

test('HttpStreamHandler: one parser per TCP connection through the reassembler interface, accept filter honoured', () => {
  const msgs: HttpMessage[] = [];
  const h = new HttpStreamHandler({ message: (m) => msgs.push(m) }, { accept: (c) => c.serverPort !== 2269 });
  const conn = (id: number, serverPort: number): TcpConnectionInfo => ({
    id, clientAddr: '127.0.0.1', clientPort: 40000 + id, serverAddr: '127.0.0.1', serverPort, firstFrame: id, handshakeSeen: true,
  });
  const a = conn(1, 80);
  const b = conn(2, 8080);
  const m = conn(3, 2269);
  const chunk = (data: string, frame: number): StreamChunk => ({ streamOffset: 0, data: Buffer.from(data), frame, frames: [frame], tsSec: frame, tsNsec: 0 });
  h.data(a, 0, chunk('GET /a HTTP/1.1\r\n\r\n', 1));
  h.data(b, 0, chunk('GET /b HTTP/1.1\r\n\r\n', 2));
  h.data(m, 0, chunk('GET /m HTTP/1.1\r\n\r\n', 3));
  h.data(b, 1, chunk('HTTP/1.1 204 No Content\r\n\r\n', 4));
  h.data(a, 1, chunk('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 5));
  for (const c of [a, b, m]) for (const d of [0, 1] as const) h.end?.(c, d, 'fin', { tsSec: 9, tsNsec: 0 });
  assert.deepEqual(msgs.map((x) => [x.connId, x.uri ?? x.status, x.requestFrame ?? x.responseFrame]), [
    [1, '/a', 5],
    [2, '/b', 4],
    [2, 204, 2],
    [1, 200, 1],
  ]);
});
