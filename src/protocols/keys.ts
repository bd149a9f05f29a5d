/**
 * The key file (`--keys FILE`): plain text, one entry per line, `#` comments.
 *   naf <B-TID> <hex>                      a UE's GBA_ME Ks_NAF at this BM-SC: MUK = this key, Digest password = base64(MRK)
 *   muk <B-TID-or-UE-address> <hex>        a UE's MUK given directly (GBA_U)
 *   digest <username> <password…>          a Digest password given directly (rest of the line, spaces included)
 *   msk <key-domain-hex> <msk-id-hex> <hex> an MSK (protects MTK messages)
 * MRK = HMAC-SHA-256(Ks_NAF, 0x01 ‖ "mbms-mrk" ‖ 0x00 0x08) (TS 33.246 Annex F, TS 33.220 Annex B KDF).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface KeyFileError {
  line: number;
  message: string;
}

/** Where a key came from, for reports: `naf`/`muk`/`msk` line of the key file, or `learned` from a decrypted message. */
export type KeySource = 'naf' | 'muk' | 'msk' | 'learned';

export interface StoredKey {
  key: Buffer;
  source: KeySource;
  /** Line in the key file, or the frame that taught it. */
  line?: number;
  frame?: number;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;

function parseHex(s: string): Buffer | undefined {
  const t = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  return HEX_RE.test(t) ? Buffer.from(t, 'hex') : undefined;
}

/**
 * What is wrong with a field that should be hex, without quoting it: key file lines hold secrets, and a message
 * that echoes a mistyped key (one wrong digit of 64) gives the key away to whoever reads the terminal or the log.
 */
function hexProblem(s: string): string {
  const t = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  const bad = [...t].findIndex((c) => !/[0-9a-fA-F]/.test(c));
  if (bad >= 0) return `a character that is not a hex digit at position ${bad + 1 + (t.length < s.length ? 2 : 0)} of ${s.length}`;
  if (t.length % 2 !== 0) return `an odd number of hex digits (${t.length})`;
  return 'empty';
}

/** GBA KDF for the MRK (TS 33.246 Annex F): HMAC-SHA-256(Ks_NAF, 0x01 ‖ "mbms-mrk" ‖ 0x00 0x08). */
export function deriveMrk(nafKey: Uint8Array): Buffer {
  return createHmac('sha256', nafKey).update(Buffer.from([0x01])).update('mbms-mrk', 'latin1').update(Buffer.from([0x00, 0x08])).digest();
}

/** Digest password for a UE whose Ks_NAF is known: base64 of the MRK. */
export function digestPasswordFromNaf(nafKey: Uint8Array): string {
  return deriveMrk(nafKey).toString('base64');
}

/** Normalised MSK map key: key domain hex ‖ ':' ‖ MSK ID hex, lower case. */
export function mskKey(keyDomainHex: string, mskIdHex: string): string {
  return `${keyDomainHex.toLowerCase()}:${mskIdHex.toLowerCase()}`;
}

/** Bound on learned MSKs so a hostile capture cannot grow the store without limit. */
export const MAX_LEARNED_MSKS = 10_000;

export class KeyStore {
  /** B-TID → Ks_NAF. */
  readonly naf = new Map<string, StoredKey>();
  /** B-TID or UE address → MUK. */
  readonly muk = new Map<string, StoredKey>();
  /** username → password. */
  readonly digest = new Map<string, string>();
  /** `kd:mskid` (hex) → MSK. */
  readonly msk = new Map<string, StoredKey>();
  private learned = 0;
  /** Ks_NAF → base64(MRK), derived on first use. */
  private readonly mrkPasswords = new WeakMap<Uint8Array, string>();

  /** The HTTP Digest password for a username: a `digest` line, else base64(MRK) from the `naf` line of that B-TID. */
  digestPasswordFor(username: string): string | undefined {
    const d = this.digest.get(username);
    if (d !== undefined) return d;
    const n = this.naf.get(username);
    if (!n) return undefined;
    // one HMAC-SHA-256 per Ks_NAF, not one per request (keyed on the key object: a replaced key is derived anew)
    let pw = this.mrkPasswords.get(n.key);
    if (pw === undefined) {
      pw = digestPasswordFromNaf(n.key);
      this.mrkPasswords.set(n.key, pw);
    }
    return pw;
  }

  /** MUK for a B-TID or a UE address: a `muk` line first, else the `naf` key (GBA_ME: MUK = Ks_NAF). */
  mukFor(id: string): StoredKey | undefined {
    return this.muk.get(id) ?? this.naf.get(id);
  }

  /** MSK by Key Domain ID and MSK ID (hex). */
  mskFor(keyDomainHex: string, mskIdHex: string): StoredKey | undefined {
    return this.msk.get(mskKey(keyDomainHex, mskIdHex));
  }

  /** Record an MSK learned from a decrypted MSK delivery. Returns false when the bound is reached. */
  learnMsk(keyDomainHex: string, mskIdHex: string, key: Uint8Array, frame?: number): boolean {
    const k = mskKey(keyDomainHex, mskIdHex);
    const existing = this.msk.get(k);
    if (existing && existing.source !== 'learned') return true; // the key file wins
    if (!existing && this.learned >= MAX_LEARNED_MSKS) return false;
    if (!existing) this.learned++;
    const entry: StoredKey = { key: Buffer.from(key), source: 'learned' };
    if (frame !== undefined) entry.frame = frame;
    this.msk.set(k, entry);
    return true;
  }

  get size(): number {
    return this.naf.size + this.muk.size + this.digest.size + this.msk.size;
  }
}

export interface KeyFileParseResult {
  store: KeyStore;
  errors: KeyFileError[];
}

/** Parse key file text. Every bad line is reported with its 1-based number; good lines are kept. */
export function parseKeyFile(text: string): KeyFileParseResult {
  const store = new KeyStore();
  const errors: KeyFileError[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = i + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^(\S+)\s*(.*)$/.exec(trimmed);
    const kind = m ? m[1] : '';
    const rest = m ? m[2] : '';
    const fields = rest.split(/\s+/).filter((f) => f !== '');
    const err = (message: string) => errors.push({ line, message });
    switch (kind) {
      case 'naf':
      case 'muk': {
        if (fields.length !== 2) return void err(`${kind} needs 2 fields (<${kind === 'naf' ? 'B-TID' : 'B-TID-or-UE-address'}> <hex>), got ${fields.length}`);
        const key = parseHex(fields[1]);
        if (!key) return void err(`${kind} key is not hex (${hexProblem(fields[1])})`);
        (kind === 'naf' ? store.naf : store.muk).set(fields[0], { key, source: kind, line });
        return;
      }
      case 'digest': {
        const dm = /^(\S+)\s+(.+)$/.exec(rest);
        if (!dm) return void err('digest needs <username> <password…>');
        // the password is the rest of the line with its inner spaces; trailing whitespace is not part of it
        store.digest.set(dm[1], dm[2].replace(/\s+$/, ''));
        return;
      }
      case 'msk': {
        if (fields.length !== 3) return void err(`msk needs 3 fields (<key-domain-hex> <msk-id-hex> <hex>), got ${fields.length}`);
        const kd = parseHex(fields[0]);
        const id = parseHex(fields[1]);
        const key = parseHex(fields[2]);
        if (!kd || kd.length !== 3) return void err(`msk key domain must be 3 bytes of hex (MCC ‖ MNC), got ${kd ? `${kd.length} bytes` : hexProblem(fields[0])}`);
        if (!id || (id.length !== 4 && id.length !== 2)) return void err(`msk ID must be 4 bytes of hex (or 2 for the seed encoding), got ${id ? `${id.length} bytes` : hexProblem(fields[1])}`);
        if (!key) return void err(`msk key is not hex (${hexProblem(fields[2])})`);
        store.msk.set(mskKey(kd.toString('hex'), id.toString('hex')), { key, source: 'msk', line });
        return;
      }
      default:
        // the first word is not quoted either: a line missing its prefix starts with the key itself
        err('unknown entry (a line starts with naf, muk, digest or msk)');
    }
  });
  return { store, errors };
}

export class KeyFileParseError extends Error {
  constructor(readonly path: string, readonly errors: KeyFileError[]) {
    super(`${path}: ${errors.map((e) => `line ${e.line}: ${e.message}`).join('; ')}`);
    this.name = 'KeyFileParseError';
  }
}

/** Read and parse a key file; throws KeyFileParseError listing every bad line (a configuration error, exit 2). */
export function loadKeyFile(path: string): KeyStore {
  const { store, errors } = parseKeyFile(readFileSync(path, 'utf8'));
  if (errors.length > 0) throw new KeyFileParseError(path, errors);
  return store;
}
