/**
 * The field registry's vocabulary: like Wireshark's `hf_register_info`, every named field is declared once with a
 * dotted name, a type, a one-line description and the function that pulls its values out of a dissected frame.
 * `-T fields -e`, `-Y`, `keyscope fields` and docs/fields.md all read these declarations.
 */
import type { DissectedFrame } from '../pipeline/dissector';

/**
 * Value types, named after Wireshark's FT_ types they stand for: `protocol` (FT_PROTOCOL, present when the layer is),
 * `none` (FT_NONE, a subtree that carries no value), `bool`, `uint` (FT_UINT*), `framenum` (FT_FRAMENUM), `time`
 * (FT_RELATIVE_TIME, seconds), `string`, `bytes`, `ipv4`, `ipv6`, `ether` (MAC address).
 */
export type FieldType = 'protocol' | 'none' | 'bool' | 'uint' | 'framenum' | 'time' | 'string' | 'bytes' | 'ipv4' | 'ipv6' | 'ether';

/**
 * One occurrence of a field. `uint`/`framenum` are numbers, `bool` a boolean, `string`/`ipv4`/`ipv6`/`ether` text
 * (addresses in their usual notation), `time` decimal seconds as text (`S.NNNNNNNNN`: a double would lose the nanoseconds), `bytes` a Buffer, `protocol`/`none` `true`.
 */
export type FieldValue = number | string | boolean | Buffer;

/**
 * How the field relates to tshark's: `same` = tshark has a field of that name and meaning, and `-T fields -e` prints
 * what tshark prints (tests hold it to that); `presence` = tshark has it, but its printed value is a tree label
 * (protocols), so only presence is shared. Absent = keyscope's own field.
 */
export type TsharkRelation = 'same' | 'presence';

/** What extractors see: the frame, plus what is derived from the frames before it (stream numbers, first time). */
export interface FrameView {
  frame: DissectedFrame;
  /** tcp.stream of this frame when it is TCP (0-based, in order of first appearance, as tshark counts). */
  tcpStream?: number;
  /** udp.stream of this frame when it is UDP. */
  udpStream?: number;
  /** udp.stream of the datagram that carried a GTP-U tunnel (when the tunnel was unwrapped). */
  outerUdpStream?: number;
  /** tcp.seq / tcp.ack relative to each direction's initial sequence number, as tshark computes them. */
  tcpSeq?: number;
  tcpAck?: number;
  /** Seconds from the first frame of the capture (not the first shown: tshark's frame.time_relative). */
  relativeTime: string;
}

export interface FieldDef {
  /** Dotted name, tshark's where tshark has the same field. */
  name: string;
  type: FieldType;
  /** One line, as `keyscope fields` and docs/fields.md show it. */
  description: string;
  /** `uint` display base in `-T fields` (tshark's BASE_HEX prints 0x and `hexDigits` digits). */
  base?: 'dec' | 'hex';
  hexDigits?: number;
  tshark?: TsharkRelation;
  /** The label of the field's line in the `-V` tree (`Label: value`); absent for fields the tree shows otherwise. */
  label?: string;
  /**
   * Where `--json` prints the field's values: a dotted path into the frame object (`ip.ttl`, `mikey.mbms.keyDomain`);
   * test/fields/outputs.test.ts holds every JSON leaf to a field and every field with a path to its JSON values.
   */
  json?: string;
  /**
   * How the `-V` tree shows one value when not as `-T fields` prints it (tshark's value strings: `HMAC-SHA-1-160 (1)`;
   * long bytes cut short). The tree line is `label: display(value)`.
   */
  display?(x: FieldValue): string;
  /** Shown as `[label: value]`: derived, not a value of the packet (tshark's generated items, e.g. `[Request in frame: 4]`). */
  generated?: boolean;
  /** The tree line is the value alone: a line of the packet shown as sent (a header or parameter with no field of its own). */
  inline?: boolean;
  /** Every occurrence in the frame, in tree order; empty when the field is absent. */
  values(v: FrameView): FieldValue[];
}

/** A protocol layer's block of fields (the unit `keyscope fields` groups by). */
/** One header of a layer as the `-V` tree shows it: a title line, then `Label: value` lines from the registry. */
export interface TreeBlock {
  /** Tunnel depth: 0 for the outer headers of a GTP-U tunnel (and untunnelled frames), 1 inside it; -1 for the frame. */
  depth: number;
  title: string;
  lines: string[];
}

export interface FieldLayer {
  /** Protocol filter name (`ip`, `mikey`, ...). */
  name: string;
  title: string;
  fields: FieldDef[];
  /** The layer's headers in the frame as `-V` tree blocks, built from the fields' labels and values. */
  tree?(v: FrameView): TreeBlock[];
}
