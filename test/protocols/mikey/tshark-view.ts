/**
 * Our decode expressed as tshark `-T fields -E occurrence=a` values (field name → values in wire order), so a test can
 * compare field by field with tshark 4.0's MIKEY dissector. Numbers are compared as numbers, bytes as lower-case hex.
 */
import { execFileSync } from '../../support/proc';
import type { MikeyMessage } from '../../../src/protocols/mikey/types';

export type FieldValues = Map<string, string[]>;

const SP_NAMED: Record<number, string> = {
  0: 'mikey.sp.encr_alg', 1: 'mikey.sp.encr_len', 2: 'mikey.sp.auth_alg', 3: 'mikey.sp.auth_key_len', 4: 'mikey.sp.salt_len',
  5: 'mikey.sp.prf', 6: 'mikey.sp.kd_rate', 7: 'mikey.sp.srtp_encr', 8: 'mikey.sp.srtcp_encr', 9: 'mikey.sp.fec',
  10: 'mikey.sp.srtp_auth', 11: 'mikey.sp.auth_tag_len', 12: 'mikey.sp.srtp_prefix',
};

export function tsharkView(m: MikeyMessage): FieldValues {
  const f: FieldValues = new Map();
  const put = (name: string, v: string | number | boolean | Uint8Array) => {
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
    const l = f.get(name);
    if (l) l.push(s);
    else f.set(name, [s]);
  };
  const h = m.header;
  put('mikey.version', h.version);
  put('mikey.type', h.dataType);
  put('mikey.next_payload', h.nextPayload);
  put('mikey.v.set', h.v);
  put('mikey.prf_func', h.prf);
  put('mikey.csb_id', h.csbId);
  put('mikey.cs_count', h.csCount);
  put('mikey.cs_id_map_type', h.csIdMapType);
  for (const s of h.srtpIds ?? []) {
    put('mikey.srtp_id.policy_no', s.policyNo);
    put('mikey.srtp_id.ssrc', s.ssrc);
    put('mikey.srtp_id.roc', s.roc);
  }
  for (const p of m.payloads) {
    if (p.type !== 4) put('mikey.next_payload', p.nextPayload);
    switch (p.type) {
      case 1:
        put('mikey.kemac.encr_alg', p.encrAlg);
        put('mikey.kemac.key_data_len', p.encrData.length);
        // tshark shows the raw key data only when encrypted; with NULL encryption it shows the Key data sub-payloads
        if (p.encrAlg !== 0) put('mikey.kemac.key_data', p.encrData);
        // tshark 4.0 decodes only the first Key data sub-payload of a KEMAC
        for (const k of (p.keys ?? []).slice(0, 1)) {
          put('mikey.key.type', k.keyType);
          put('mikey.key.kv', k.kv);
          put('mikey.key.data.len', k.key.length);
          put('mikey.key.data', k.key);
          if (k.salt) {
            put('mikey.key.salt.len', k.salt.length);
            put('mikey.key.salt', k.salt);
          }
          if (k.spi) {
            put('mikey.key.kv.spi.len', k.spi.length);
            put('mikey.key.kv.spi', k.spi);
          }
          if (k.interval) {
            put('mikey.key.kv.from.len', k.interval.from.length);
            put('mikey.key.kv.from', k.interval.from);
            put('mikey.key.kv.to.len', k.interval.to.length);
            put('mikey.key.kv.to', k.interval.to);
          }
        }
        put('mikey.kemac.mac_alg', p.macAlg);
        if (p.mac.length) put('mikey.kemac.mac', p.mac);
        break;
      case 2:
        put('mikey.pke.c', p.c);
        put('mikey.pke.len', p.data.length);
        put('mikey.pke.data', p.data);
        break;
      case 3:
        put('mikey.dh.group', p.group);
        put('mikey.dh.value', p.value);
        put('mikey.dh.reserv', 0);
        put('mikey.dh.kv', p.kv);
        break;
      case 4:
        put('mikey.sign.type', p.signType);
        put('mikey.sign.len', p.signature.length);
        put('mikey.sign.data', p.signature);
        break;
      case 5:
      case 13:
        put('mikey.t.ts_type', p.tsType);
        if ((p.tsType === 0 || p.tsType === 1) && p.time) put('mikey.t.ntp', p.time);
        break;
      case 6:
      case 14:
        if (p.role !== undefined) put('mikey.id.role', p.role);
        put('mikey.id.type', p.idType);
        put('mikey.id.len', p.data.length);
        put('mikey.id.data', p.data.toString('utf8'));
        break;
      case 7:
        put('mikey.cert.type', p.certType);
        put('mikey.cert.len', p.data.length);
        put('mikey.cert.data', p.data);
        break;
      case 9:
        put('mikey.v.auth_alg', p.authAlg);
        if (p.mac.length) put('mikey.v.ver_data', p.mac);
        break;
      case 10:
        put('mikey.sp.no', p.policyNo);
        put('mikey.sp.proto_type', p.protType);
        put('mikey.sp.param_len', p.params.reduce((a, x) => a + x.length, 0));
        for (const x of p.params) {
          // tshark adds a `Policy param` item holding the value for protocols other than SRTP
          if (p.protType !== 0) put('mikey.sp.param', x.value);
          put('mikey.sp.param.type', x.paramType);
          put('mikey.sp.param.len', x.value.length);
          put('mikey.sp.patam.value', x.value);
          const named = p.protType === 0 ? SP_NAMED[x.paramType] : undefined;
          if (named && x.value.length === 1) put(named, x.value[0]);
        }
        break;
      case 11:
      case 15:
        put('mikey.rand.len', p.rand.length);
        put('mikey.rand.data', p.rand);
        break;
      case 12:
        put('mikey.err.no', p.errorNo);
        put('mikey.err.reserved', p.reserved);
        break;
      case 21:
        put('mikey.ext.type', p.extType);
        put('mikey.ext.len', p.data.length);
        // tshark shows SDP IDs (type 1) as a string item instead of the data bytes
        if (p.extType === 1) put('mikey.ext.value', p.data.toString('utf8'));
        else put('mikey.ext.data', p.data);
        break;
      case 26:
        put('mikey.sakke.params', p.params);
        put('mikey.sakke.idscheme', p.idScheme);
        put('mikey.sakke.len', p.data.length);
        put('mikey.sakke.data', p.data);
        break;
      default:
        break;
    }
  }
  return f;
}

export interface TsharkField {
  name: string;
  type: string;
}

/** Every `mikey.*` value field tshark knows (protocol subtrees, FT_NONE, left out). */
export function tsharkMikeyFields(): TsharkField[] {
  const out = execFileSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').map((l) => l.split('\t')).filter((c) => c[0] === 'F' && c[2]?.startsWith('mikey.') && c[3] !== 'FT_NONE')
    .map((c) => ({ name: c[2], type: c[3] }));
}

/** tshark's values per frame: frame number → field → values (split on the occurrence separator). */
export function tsharkFieldValues(file: string, fields: TsharkField[], extraArgs: string[] = []): Map<number, FieldValues> {
  const args = ['-r', file, ...extraArgs, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001', '-E', 'separator=\u0002', '-e', 'frame.number'];
  for (const f of fields) args.push('-e', f.name);
  const out = execFileSync('tshark', args, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  const res = new Map<number, FieldValues>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const cols = line.split('\u0002');
    const fv: FieldValues = new Map();
    fields.forEach((f, i) => {
      const v = cols[i + 1];
      if (v) fv.set(f.name, v.split('\u0001'));
    });
    res.set(Number(cols[0]), fv);
  }
  return res;
}

/** Normalise a tshark value for comparison with ours. */
export function normalise(type: string, v: string): string {
  if (type.startsWith('FT_UINT') || type.startsWith('FT_INT')) return String(Number(v));
  if (type === 'FT_ABSOLUTE_TIME') {
    // `Nov  7, 2023 11:44:50.500000000 UTC` → ISO 8601 at millisecond precision, as our decoder gives it
    const m = /^(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3})\d* UTC$/.exec(v);
    if (!m) return v;
    const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]);
    return new Date(Date.UTC(+m[3], mon, +m[2], +m[4], +m[5], +m[6], +m[7])).toISOString();
  }
  if (type === 'FT_BOOLEAN') return v === 'True' || v === '1' ? '1' : '0';
  // tshark 4.0 prints a zero-length byte field as `<missing>`
  if (type === 'FT_BYTES') return v.toLowerCase() === '<missing>' ? '' : v.replace(/:/g, '').toLowerCase();
  return v;
}
