/**
 * The UE table: a UE is known by its addresses and its B-TIDs (the Digest username of its requests, the IDr of the
 * MIKEY messages to it); either joins, so a UE behind NAT or inside a GTP-U tunnel stays one UE. Bounded: the least
 * recently seen UE is forgotten (and counted) when the table is full.
 */
import { appendDropping, newUe, pushOne, type UeState } from './model';
import { OldestKeys } from '../common/oldest-key';
import { DistinctSketch } from './distinct';
import { LIMITS } from './options';
import { ownString } from '../common/own-string';

export class UeTable {
  private readonly byId = new Map<string, UeState>();
  /** forget() deletes every UE it is given from byId. */
  private readonly oldestId = new OldestKeys(this.byId);
  private readonly byAddress = new Map<string, UeState>();
  private readonly byBtid = new Map<string, UeState>();
  /** UE entries created (a UE forgotten and seen again is created again). */
  created = 0;
  forgotten = 0;
  /** Every created UE's identity (its B-TID when known, else its address): the distinct count after forgetting. */
  private readonly sketch = new DistinctSketch();
  /** The UE last moved to the end of `byId` (the most recently seen), if still there. */
  private newest: UeState | undefined;

  /** @param onForget called with a UE dropped to keep the table within `maxUes` (its end-of-life checks). */
  constructor(private readonly maxUes: number, private readonly onForget: (ue: UeState) => void) {}

  /** UEs in the table now. */
  get size(): number {
    return this.byId.size;
  }

  /** The UE with this address or B-TID, created when new; joins the two; marks it most recently seen. */
  lookup(address: string | undefined, btidIn: string | undefined): UeState | undefined {
    let btid = btidIn;
    const byBtid = btid !== undefined ? this.byBtid.get(btid) : undefined;
    const byAddr = address !== undefined ? this.byAddress.get(address) : undefined;
    // a new B-TID is kept as long as the UE (its id, its list, the index): its own string, not a view of the header
    // it was read from
    let owned = false;
    if (btid !== undefined && byBtid === undefined) {
      btid = ownString(btid);
      owned = true;
    }
    let ue = byBtid ?? byAddr;
    if (!ue) {
      const id = address ?? btid;
      if (id === undefined) return undefined;
      ue = newUe(id);
      this.created++;
      // the B-TID names the UE across addresses (NAT, a new bearer), so a returning UE usually hashes the same
      this.sketch.add(btid ?? id);
    }
    if (address !== undefined && !ue.addresses.includes(address)) {
      // the first address names the UE: keep it, drop the oldest of the others (in the same new array)
      if (ue.addresses.length >= LIMITS.addressesPerUe) ue.addresses = appendDropping(ue.addresses, address, 1);
      else pushOne(ue, 'addresses', address);
    }
    if (address !== undefined && byAddr !== ue) this.byAddress.set(address, ue);
    if (btid !== undefined) {
      if (!ue.btids.includes(btid)) {
        if (!owned) btid = ownString(btid);
        if (ue.btids.length >= LIMITS.addressesPerUe) ue.btids = appendDropping(ue.btids, btid, 0);
        else pushOne(ue, 'btids', btid);
      }
      if (byBtid !== ue) this.byBtid.set(btid, ue);
    }
    // most recently seen already (a request and its answer, a delivery and its ACK): the order stands as it is
    if (this.newest !== ue) {
      this.byId.delete(ue.id);
      this.byId.set(ue.id, ue);
      this.newest = ue;
    }
    for (let old = this.oldestId.over(this.maxUes); old !== undefined; old = this.oldestId.over(this.maxUes)) this.forget(this.byId.get(old) as UeState);
    return ue;
  }

  /**
   * Distinct UEs seen: exact while no UE was forgotten (every entry is then a different UE), else the sketch's
   * estimate, kept between the UEs still in the table and the entries ever created.
   */
  distinct(): { count: number; estimated: boolean } {
    if (this.forgotten === 0) return { count: this.created, estimated: false };
    const e = Math.round(this.sketch.estimate());
    return { count: Math.min(this.created, Math.max(this.byId.size, e)), estimated: true };
  }

  /** The sketch of every created UE's identity (base64 registers, see DistinctSketch.toBase64). */
  sketchBase64(): string {
    return this.sketch.toBase64();
  }

  all(): IterableIterator<UeState> {
    return this.byId.values();
  }

  private forget(ue: UeState): void {
    this.byId.delete(ue.id);
    if (this.newest === ue) this.newest = undefined;
    this.onForget(ue);
    for (const a of ue.addresses) if (this.byAddress.get(a) === ue) this.byAddress.delete(a);
    for (const b of ue.btids) if (this.byBtid.get(b) === ue) this.byBtid.delete(b);
    this.forgotten++;
  }
}
