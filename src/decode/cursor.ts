/**
 * What a layer tells the next one, gopacket style: where its payload starts and ends and what it is. One cursor is
 * reused for a whole frame, so decoding a layer allocates nothing beyond the record it fills in.
 */
export const NextLayer = {
  NONE: 0,
  IPV4: 1,
  IPV6: 2,
  /** Raw IP whose version the payload's first nibble decides (LINKTYPE_RAW, GTP-U T-PDU). */
  IP_BY_VERSION: 3,
} as const;
export type NextLayer = (typeof NextLayer)[keyof typeof NextLayer];

export class LayerCursor {
  /** Start of the next layer's bytes. */
  offset = 0;
  /** End (exclusive) of the next layer's bytes: the captured end, trimmed by the length fields of the layers above. */
  end = 0;
  next: NextLayer = NextLayer.NONE;
  /** A length field claimed more bytes than were captured: the payload between offset and end is cut short. */
  truncated = false;
  /**
   * The frame itself was cut by the capture's snapshot length (captured < original length): a link header cut short is
   * then a capture artefact, not a malformed packet. Cleared by reset(); the packet decoder sets it per frame.
   */
  frameCut = false;
  /** When the chain stops at a protocol keyscope does not decode: its name for the one-line summary. */
  stopName: string | undefined = undefined;

  reset(offset: number, end: number): void {
    this.offset = offset;
    this.end = end;
    this.next = NextLayer.NONE;
    this.truncated = false;
    this.frameCut = false;
    this.stopName = undefined;
  }
}
