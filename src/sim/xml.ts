/** The TS 26.346 §11 XML bodies the simulated UEs and BM-SC send (templates; every text value escaped). */

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

export interface MskRef {
  keyDomainId: Buffer;
  keyGroup: number;
  keyNumber: number;
}

function mskIdBase64(r: MskRef): string {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(r.keyGroup, 0);
  b.writeUInt16BE(r.keyNumber, 2);
  return b.toString('base64');
}

function mskXml(r: MskRef): string {
  return `<MSK><keyDomainID>${r.keyDomainId.toString('base64')}</keyDomainID><MSKID>${mskIdBase64(r)}</MSKID></MSK>`;
}

export function registerXml(serviceIds: string[]): string {
  return `${HEAD}<mbmsSecurityRegister xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistration" ${XSI}>\n${serviceIds.map((s) => `<serviceID>${escapeXml(s)}</serviceID>\n`).join('')}</mbmsSecurityRegister>\n`;
}

export function deregisterXml(serviceIds: string[]): string {
  return `${HEAD}<mbmsSecurityDeregister xmlns="urn:3GPP:metadata:2005:MBMS:securityDeregistration" ${XSI}>\n${serviceIds.map((s) => `<serviceID>${escapeXml(s)}</serviceID>\n`).join('')}</mbmsSecurityDeregister>\n`;
}

export function registerResponseXml(entries: { serviceId: string; code: string }[]): string {
  const body = entries.map((e) => `<Response><serviceID>${escapeXml(e.serviceId)}</serviceID><ResponseCode>${escapeXml(e.code)}</ResponseCode></Response>\n`).join('');
  return `${HEAD}<mbmsSecurityRegisterResponse xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse" ${XSI}>\n${body}</mbmsSecurityRegisterResponse>\n`;
}

export function mskRequestXml(refs: MskRef[]): string {
  return `${HEAD}<mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest" ${XSI}>\n${refs.map((r) => `${mskXml(r)}\n`).join('')}</mbmsMSKRequest>\n`;
}

export function mskResponseXml(entries: { ref: MskRef; code: string }[]): string {
  const body = entries.map((e) => `<Response>${mskXml(e.ref)}<ResponseCode>${escapeXml(e.code)}</ResponseCode></Response>\n`).join('');
  return `${HEAD}<mbmsMSKResponse xmlns="urn:3GPP:metadata:2005:MBMS:mskResponse" ${XSI}>\n${body}</mbmsMSKResponse>\n`;
}
