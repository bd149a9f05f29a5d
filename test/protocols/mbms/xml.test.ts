import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMbmsBody, parseMbmsBodyByTree, scanDocument, isMbmsContentType, isMbmsMediaType, MBMS_CONTENT_TYPES, simpleTree, libraryTree, DEFAULT_MBMS_LIMITS } from '../../../src/protocols/mbms/xml';

const parse = (ct: string, xml: string) => parseMbmsBody(ct, Buffer.from(xml, 'utf8'));
const codes = (r: ReturnType<typeof parse>): string[] => r.problems.map((p) => p.code);

// The examples of TS 26.346 §11.4.2–11.8.2 as printed (stray schemaLocation text included: it is well-formed text).
const REGISTER = `<?xml version="1.0" encoding="UTF-8"?>
<mbmsSecurityRegister xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistration"
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
xsi:schemaLocation="urn:3GPP:metadata:2005:MBMS:securityRegistration
SecurityRegistration.xsd">
<serviceID>urn:3gpp:mbms:example:serivce:identification:123456789abcdef</serviceID>
</mbmsSecurityRegister>`;

const DEREGISTER = `<?xml version="1.0" encoding="UTF-8"?>
<mbmsSecurityDeregister xmlns="urn:3GPP:metadata:2005:MBMS:securityDeregistration"
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<serviceID>urn:3gpp:mbms:example:serivce:identification:123456789abcdef</serviceID>
</mbmsSecurityDeregister>`;

const MSK_REQUEST = `<?xml version="1.0" encoding="UTF-8"?>
<mbmsMSKRequest
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest">
xsi:schemaLocation="urn:3GPP:metadata:2005:MBMS:mskRequest
mskRequest.xsd">
<MSK>
<keyDomainID>uHCd</keyDomainID>
<MSKID>aMkAAA==</MSKID>
</MSK>
</mbmsMSKRequest>`;

const REGISTER_RESPONSE = `<?xml version="1.0" encoding="UTF-8"?>
<mbmsSecurityRegisterResponse xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse">
securityRegistrationResponse.xsd">
<Response>
<serviceID>urn:3gpp:mbms:example:service:identification:123456789abcdef</serviceID>
<ResponseCode>200 OK</ResponseCode>
</Response>
<Response>
<serviceID>urn:3gpp:mbms:example:service:identification:fedcba987654321</serviceID>
<ResponseCode>200 OK</ResponseCode>
</Response>
</mbmsSecurityRegisterResponse>`;

const MSK_RESPONSE = `<?xml version="1.0" encoding="UTF-8"?>
<mbmsMSKResponse xmlns="urn:3GPP:metadata:2005:MBMS:mskResponse" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:3GPP:metadata:2005:MBMS:mskResponse mskResponse.xsd">
<Response>
<MSK>
<keyDomainID>uHCd</keyDomainID>
<MSKID>aMkAAA==</MSKID>
</MSK>
<ResponseCode>200 OK</ResponseCode>
</Response>
<Response>
<MSK>
<keyDomainID>uHCd</keyDomainID>
<MSKID>JMtEAA==</MSKID>
</MSK>
<ResponseCode>200 OK</ResponseCode>
</Response>
</mbmsMSKResponse>`;

test('content types', () => {
  assert.ok(isMbmsContentType('application/mbms-msk+xml'));
  assert.ok(isMbmsContentType('Application/MBMS-Register-Response+XML'));
  assert.ok(!isMbmsContentType('application/mikey'));
});

test('TS 26.346 §11.4.2 registration and §11.5.2 deregistration examples', () => {
  const r = parse('application/mbms-register+xml', REGISTER);
  assert.deepEqual(codes(r), []);
  assert.equal(r.body.kind, 'register');
  assert.equal(r.body.namespace, 'urn:3GPP:metadata:2005:MBMS:securityRegistration');
  assert.deepEqual(r.body.serviceIds, ['urn:3gpp:mbms:example:serivce:identification:123456789abcdef']);
  const d = parse('application/mbms-deregister+xml', DEREGISTER);
  assert.deepEqual(codes(d), []);
  assert.equal(d.body.kind, 'deregister');
  assert.equal(d.body.serviceIds.length, 1);
});

test('TS 26.346 §11.6.2 MSK request: Key Domain ID and MSK ID decoded, Key Group / Key Number split', () => {
  const r = parse('application/mbms-msk+xml', MSK_REQUEST);
  assert.deepEqual(codes(r), []);
  assert.equal(r.body.kind, 'msk-request');
  assert.deepEqual(r.body.msks, [
    { keyDomainIdBase64: 'uHCd', mskIdBase64: 'aMkAAA==', keyDomainId: 'b8709d', mskId: '68c90000', keyGroup: 0x68c9, keyNumber: 0 },
  ]);
});

test('TS 26.346 §11.7.2 and §11.8.2 responses: a ResponseCode per service / MSK', () => {
  const r = parse('application/mbms-register-response+xml', REGISTER_RESPONSE);
  assert.deepEqual(codes(r), []);
  assert.deepEqual(
    r.body.responses.map((x) => [x.serviceId?.slice(-15), x.responseCode, x.status]),
    [
      ['123456789abcdef', '200 OK', 200],
      ['fedcba987654321', '200 OK', 200],
    ],
  );
  const m = parse('application/mbms-msk-response+xml', MSK_RESPONSE);
  assert.deepEqual(codes(m), []);
  assert.deepEqual(
    m.body.responses.map((x) => [x.msk?.mskId, x.msk?.keyGroup, x.msk?.keyNumber, x.status]),
    [
      ['68c90000', 0x68c9, 0, 200],
      ['24cb4400', 0x24cb, 0x4400, 200],
    ],
  );
});

test('deviating equipment: names in any case, other namespace, prefixes, unknown elements kept', () => {
  const r = parse(
    'application/mbms-msk+xml',
    '<MBMSMSKREQUEST xmlns="urn:vendor:x" v="1"><msk><KeyDomainId>uHCd</KeyDomainId><mskid>AAEAAg==</mskid><vendor>x</vendor></msk><extra a="b">t</extra></MBMSMSKREQUEST>',
  );
  assert.equal(r.body.kind, 'msk-request');
  assert.deepEqual(codes(r), ['mbms-xml-namespace']);
  assert.equal(r.body.msks[0].keyGroup, 1);
  assert.equal(r.body.msks[0].keyNumber, 2);
  assert.deepEqual(r.body.unknownElements, ['MBMSMSKREQUEST/extra']);
  assert.equal(r.body.tree?.children[1].attributes.a, 'b');
  const p = parse(
    'application/mbms-msk+xml',
    '<m:mbmsMSKRequest xmlns:m="urn:3GPP:metadata:2005:MBMS:mskRequest"><m:MSK><m:keyDomainID>uHCd</m:keyDomainID><m:MSKID>aMkAAA==</m:MSKID></m:MSK></m:mbmsMSKRequest>',
  );
  assert.deepEqual(codes(p), []);
  assert.equal(p.body.msks[0].mskId, '68c90000');
  const e = parse('application/mbms-register+xml', '<mbmsSecurityRegister xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistration"><serviceID>urn:a&amp;b&#x41;</serviceID></mbmsSecurityRegister>');
  assert.deepEqual(e.body.serviceIds, ['urn:a&bA']);
  const mm = parse('application/mbms-msk+xml', MSK_RESPONSE);
  assert.ok(codes(mm).includes('mbms-xml-root-mismatch')); // Annex H's 200 labels the response mbms-msk+xml
  assert.equal(mm.body.kind, 'msk-response');
});

test('malformed, hostile and odd bodies give problems, never exceptions', () => {
  assert.ok(codes(parse('application/mbms-msk+xml', '<mbmsMSKRequest><MSK></mbmsMSKRequest>')).includes('mbms-xml-malformed'));
  assert.ok(codes(parse('application/mbms-msk+xml', '')).some((c) => c === 'mbms-xml-empty' || c === 'mbms-xml-malformed'));
  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><mbmsMSKRequest>&lol2;</mbmsMSKRequest>';
  assert.deepEqual(codes(parse('application/mbms-msk+xml', laughs)), ['mbms-xml-doctype']);
  const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><mbmsSecurityRegister><serviceID>&x;</serviceID></mbmsSecurityRegister>';
  assert.deepEqual(codes(parse('application/mbms-register+xml', xxe)), ['mbms-xml-doctype']);
  const undeclared = parse('application/mbms-register+xml', '<mbmsSecurityRegister><serviceID>&x;</serviceID></mbmsSecurityRegister>');
  assert.deepEqual(undeclared.body.serviceIds, ['&x;']); // an undeclared entity stays literal text
  const deep = '<a>'.repeat(2000) + '</a>'.repeat(2000);
  assert.deepEqual(codes(parse('application/mbms-msk+xml', deep)), ['mbms-xml-malformed']); // depth limit
  const big = parseMbmsBody('application/mbms-msk+xml', Buffer.alloc(300 * 1024, 0x20));
  assert.deepEqual(big.problems.map((p) => p.code), ['mbms-xml-too-large']);
  const bad = parse('application/mbms-msk+xml', '<mbmsMSKRequest><MSK><keyDomainID>!!</keyDomainID><MSKID>AAAA</MSKID></MSK></mbmsMSKRequest>');
  assert.ok(codes(bad).includes('mbms-xml-bad-base64'));
  assert.ok(codes(bad).includes('mbms-xml-bad-length'));
  assert.ok(codes(parse('application/mbms-msk+xml', '<mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"/>')).includes('mbms-xml-empty-list'));
  assert.ok(codes(parse('application/mbms-msk+xml', '<html><body>hi</body></html>')).includes('mbms-xml-unknown-root'));
});

test('the fast XML path gives the library path\'s tree, and declines what it does not read', { timeout: 60_000 }, () => {
  const root = path.join(__dirname, '..', '..', '..', '..', 'captures');
  const docs = [REGISTER, DEREGISTER, MSK_REQUEST, REGISTER_RESPONSE, MSK_RESPONSE];
  for (const f of ['sim-clean.pcap', 'sim-faults.pcap', 'sim-variants.pcap']) {
    const raw = fs.readFileSync(path.join(root, f)).toString('latin1');
    for (const m of raw.matchAll(/<\?xml[^]*?<\/mbms[A-Za-z]*>/g)) docs.push(m[0]);
  }
  assert.ok(docs.length > 50);
  const edge = [
    '<a> </a>', '<a>x<b>y</b> z </a>', '<a>1 > 0</a>', '<a/>', "<p:a xmlns:p='u' k=\"v\" j='w'><p:b xmlns='d'><c/></p:b></p:a>",
    '<a  x = "1" >t</a >', '<a><b/><b></b></a>', "<a\n\tx\r\n=\n'1'\ty=\"2\"/>", '<a x="a>b"> t <b/> u </a>', '<a-b.c_d:e xmlns:a-b.c_d="n"/>',
  ];
  const declined = [
    '<a>&amp;</a>', '<a><!-- c --></a>', '<a><![CDATA[x]]></a>', '<a></b>', '<a/><b/>', '<a>', '<a x="1" x="2"/>', 'text<a/>', '<a>1 ]]> 0</a>',
    '<a b/>', '<?pi x?><a/>', '<a\u00a0x="1"/>', '<a x="1<"/>', '<a x="&amp;"/>', '<a x="1/>', '<ab></a>', '<a></ab>', '<a>\u00a0&lt;</a>',
  ];
  for (const d of [...docs, ...edge]) {
    const fast = simpleTree(d, DEFAULT_MBMS_LIMITS);
    assert.ok(fast, `fast path declined ${d.slice(0, 80)}`);
    assert.deepEqual(fast, libraryTree(d, DEFAULT_MBMS_LIMITS, []), d.slice(0, 200));
  }
  for (const d of declined) assert.equal(simpleTree(d, DEFAULT_MBMS_LIMITS), undefined, d);
  assert.equal(simpleTree('<a><b><c/></b></a>', { ...DEFAULT_MBMS_LIMITS, maxDepth: 2 }), undefined);
  assert.equal(simpleTree('<a><b/><b/></a>', { ...DEFAULT_MBMS_LIMITS, maxElements: 2 }), undefined);
});

test('the scan reads what the tree gives, builds the tree only when read, and declines what simpleTree declines', { timeout: 60_000 }, () => {
  const root = path.join(__dirname, '..', '..', '..', '..', 'captures');
  const docs = [REGISTER, DEREGISTER, MSK_REQUEST, REGISTER_RESPONSE, MSK_RESPONSE];
  for (const f of ['sim-clean.pcap', 'sim-faults.pcap', 'sim-variants.pcap']) {
    const raw = fs.readFileSync(path.join(root, f)).toString('latin1');
    for (const m of raw.matchAll(/<\?xml[^]*?<\/mbms[A-Za-z]*>/g)) docs.push(m[0]);
  }
  const ns = (kind: string): string => `urn:3GPP:metadata:2005:MBMS:${kind}`;
  const kd = Buffer.from('00f110', 'hex').toString('base64');
  const mi = (n: string): string => Buffer.from(n, 'hex').toString('base64');
  // prefixes, case, unknown children, missing parts, bad values, mixed and empty elements, namespace bindings
  docs.push(
    `<p:mbmsMSKRequest xmlns:p="${ns('mskRequest')}"><p:MSK><p:keyDomainID>${kd}</p:keyDomainID><p:mskid>${mi('00010002')}</p:mskid></p:MSK><x/></p:mbmsMSKRequest>`,
    `<MBMSMSKREQUEST xmlns="${ns('mskRequest')}" xmlns:="other"><msk><MSKID>${mi('00000001')}</MSKID></msk><MSK/><msk><keyDomainID>!!</keyDomainID><MSKID>AAAA</MSKID></msk></MBMSMSKREQUEST>`,
    `<mbmsMSKResponse xmlns="${ns('mskResponse')}"><Response><MSK><keyDomainID>${kd}</keyDomainID><MSKID>${mi('00010002')}</MSKID></MSK><ResponseCode>200 OK</ResponseCode></Response><Response><ResponseCode>bad</ResponseCode></Response><Response/></mbmsMSKResponse>`,
    `<mbmsSecurityRegisterResponse xmlns="${ns('securityRegistrationResponse')}"><Response><serviceID>s1</serviceID><ResponseCode>403</ResponseCode></Response><response><serviceid/></response></mbmsSecurityRegisterResponse>`,
    `<mbmsSecurityRegister><serviceID>a</serviceID><serviceID></serviceID><other>t</other></mbmsSecurityRegister>`,
    `<q:mbmsSecurityDeregister xmlns:q="wrong" xmlns="${ns('securityDeregistration')}"><serviceID> b </serviceID></q:mbmsSecurityDeregister>`,
    `<html><body>hi</body></html>`,
    `<mbmsMSKRequest xmlns="${ns('mskRequest')}"/>`,
    `<constructor/>`,
  );
  let scanned = 0;
  for (const d of docs) {
    for (const ct of ['application/mbms-msk+xml', 'application/mbms-register+xml', 'application/mbms-msk-response+xml']) {
      const bytes = Buffer.from(d, 'utf8');
      const got = parseMbmsBody(ct, bytes);
      const want = parseMbmsBodyByTree(ct, bytes);
      assert.deepEqual(got.problems, want.problems, d.slice(0, 200));
      assert.deepEqual(JSON.stringify(got.body), JSON.stringify(want.body), d.slice(0, 200));
      assert.equal(Object.keys(got.body).includes('tree'), false);
      assert.deepEqual(got.body.tree, want.body.tree, d.slice(0, 200));
      if (scanDocument(d, DEFAULT_MBMS_LIMITS)) scanned++;
    }
  }
  assert.ok(scanned >= docs.length * 3 - 3, `${scanned} of ${docs.length * 3} scanned`);
  // what the scan declines goes through the tree, with the tree's problems
  for (const d of ['<a>&amp;</a>', '<a>x<b>y</b> z </a>', '<a/><b/>', '<a x="1" x="2"/>', '<a></b>']) assert.equal(scanDocument(d, DEFAULT_MBMS_LIMITS), false, d);
  assert.equal(scanDocument('<a><b><c/></b></a>', { ...DEFAULT_MBMS_LIMITS, maxDepth: 2 }), false);
  assert.equal(scanDocument('<a><b/><b/></a>', { ...DEFAULT_MBMS_LIMITS, maxElements: 2 }), false);
  const mixed = parseMbmsBody('application/mbms-register+xml', Buffer.from(`<mbmsSecurityRegister>x<serviceID>a</serviceID> y </mbmsSecurityRegister>`));
  assert.equal(mixed.body.tree?.text, 'xy');
});

test('isMbmsMediaType (the parser\'s lower-case lookup) agrees with isMbmsContentType on lower-case media types', () => {
  for (const t of [...Object.keys(MBMS_CONTENT_TYPES), 'application/mikey', 'text/xml', '', 'application/mbms-msk+xml ', 'constructor'])
    assert.equal(isMbmsMediaType(t), isMbmsContentType(t), t);
});
