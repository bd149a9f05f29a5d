/**
 * Problem codes of the packet decoders (link, network, transport headers, GTP-U), declared once: severity, layer and
 * meaning. docs/problem-codes.md is generated from these sections.
 *
 * A header cut short is two codes: `…-truncated` (error) when the packet itself is too short, `…-snaplen-cut` (note)
 * when the bytes existed on the wire but the capture did not keep them.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../common/problem';

const SNAPLEN_LOWER = 'because the bytes below it were already cut: by the snapshot length, or by a length field reported with its own error';

const LINK = {
  'link-unsupported-type': { severity: 'warning', layer: 'link', meaning: 'The frame\'s link type is not one keyscope decodes (Ethernet, Linux cooked SLL/SLL2, BSD NULL/LOOP, raw IPv4/IPv6). Nothing above the link layer is decoded. No offset.' },
  'eth-truncated': { severity: 'error', layer: 'eth', meaning: 'Fewer than 14 bytes for the Ethernet header in a frame captured whole.' },
  'eth-snaplen-cut': { severity: 'note', layer: 'eth', meaning: 'The Ethernet header is cut short because the capture\'s snapshot length cut the frame.' },
  'eth-bad-type': { severity: 'warning', layer: 'eth', meaning: 'The type/length field is 1501–1535: neither an 802.3 length nor an EtherType. Decoding stops.' },
  'vlan-truncated': { severity: 'error', layer: 'vlan', meaning: 'An 802.1Q/802.1ad tag is cut short in a frame captured whole.' },
  'vlan-snaplen-cut': { severity: 'note', layer: 'vlan', meaning: 'An 802.1Q/802.1ad tag is cut short because the snapshot length cut the frame.' },
  'vlan-too-many-tags': { severity: 'error', layer: 'vlan', meaning: 'More than 8 stacked VLAN tags: treated as garbage, decoding stops.' },
  'sll-truncated': { severity: 'error', layer: 'sll', meaning: 'The 16-byte Linux cooked (SLL) header is cut short in a frame captured whole.' },
  'sll-snaplen-cut': { severity: 'note', layer: 'sll', meaning: 'The SLL header is cut short because the snapshot length cut the frame.' },
  'sll2-truncated': { severity: 'error', layer: 'sll2', meaning: 'The 20-byte Linux cooked v2 (SLL2) header is cut short in a frame captured whole.' },
  'sll2-snaplen-cut': { severity: 'note', layer: 'sll2', meaning: 'The SLL2 header is cut short because the snapshot length cut the frame.' },
  'null-truncated': { severity: 'error', layer: 'null', meaning: 'The 4-byte BSD loopback (NULL/LOOP) header is cut short in a frame captured whole.' },
  'null-snaplen-cut': { severity: 'note', layer: 'null', meaning: 'The loopback header is cut short because the snapshot length cut the frame.' },
  'null-unknown-family': { severity: 'note', layer: 'null', meaning: 'The loopback address family is neither AF_INET nor one of the AF_INET6 values: not IP, not decoded further.' },
} as const satisfies ProblemCodes;

const NETWORK = {
  'ip-missing': { severity: 'error', layer: 'ip', meaning: 'Raw IP link type or GTP-U T-PDU with no bytes where the IP packet should start.' },
  'ip-bad-version': { severity: 'error', layer: 'ip', meaning: 'Raw IP link type or GTP-U T-PDU whose version nibble is neither 4 nor 6.' },
  'ipv4-truncated': { severity: 'error', layer: 'ipv4', meaning: 'The IPv4 header or its options are cut short in a frame captured whole.' },
  'ipv4-snaplen-cut': { severity: 'note', layer: 'ipv4', meaning: 'The IPv4 header, its options, or the payload the total length announces are cut short by the snapshot length.' },
  'ipv4-bad-version': { severity: 'error', layer: 'ipv4', meaning: 'Version nibble is not 4 where the link layer announced IPv4.' },
  'ipv4-bad-ihl': { severity: 'error', layer: 'ipv4', meaning: 'Header length (IHL × 4) below 20. Nothing after the header is decoded.' },
  'ipv4-bad-total-length': { severity: 'error', layer: 'ipv4', meaning: 'Total length below the header length. Nothing after the header is decoded.' },
  'ipv4-length-past-end': { severity: 'error', layer: 'ipv4', meaning: 'Total length runs past the end of the frame although the capture did not cut it: the packet is shorter than it claims.' },
  'ipv4-zero-total-length': { severity: 'note', layer: 'ipv4', meaning: 'Total length 0, typical of TCP segmentation offload on the capturing host: the captured length is used.' },
  'ipv4-reserved-flag': { severity: 'note', layer: 'ipv4', meaning: 'The reserved ("evil") flag bit is set.' },
  'ipv6-truncated': { severity: 'error', layer: 'ipv6', meaning: 'The 40-byte IPv6 header is cut short in a frame captured whole.' },
  'ipv6-snaplen-cut': { severity: 'note', layer: 'ipv6', meaning: 'The IPv6 header or the payload the payload length announces are cut short by the snapshot length.' },
  'ipv6-bad-version': { severity: 'error', layer: 'ipv6', meaning: 'Version nibble is not 6 where the link layer announced IPv6.' },
  'ipv6-length-past-end': { severity: 'error', layer: 'ipv6', meaning: 'Payload length runs past the end of the frame although the capture did not cut it.' },
  'ipv6-jumbogram': { severity: 'note', layer: 'ipv6', meaning: 'Payload length 0 with a hop-by-hop header (jumbogram, or offload): the captured length is used.' },
  'ipv6-extension-truncated': { severity: 'error', layer: 'ipv6', meaning: 'An extension header runs past the payload. Decoding stops there.' },
  'ipv6-extension-snaplen-cut': { severity: 'note', layer: 'ipv6', meaning: `An extension header is cut short ${SNAPLEN_LOWER}. Decoding stops there.` },
  'ipv6-too-many-extension-headers': { severity: 'error', layer: 'ipv6', meaning: 'More than 16 extension headers: treated as hostile, decoding stops.' },
  'ipv6-hop-by-hop-not-first': { severity: 'warning', layer: 'ipv6', meaning: 'A hop-by-hop options header elsewhere than directly after the IPv6 header (RFC 8200 forbids it).' },
  'ipv6-nested-fragment': { severity: 'warning', layer: 'ipv6', meaning: 'A Fragment header inside an already reassembled datagram: fragments of fragments are not reassembled again.' },
} as const satisfies ProblemCodes;

const UDP = {
  'udp-truncated': { severity: 'error', layer: 'udp', meaning: 'The 8-byte UDP header is cut short.' },
  'udp-snaplen-cut': { severity: 'note', layer: 'udp', meaning: `The 8-byte UDP header is cut short ${SNAPLEN_LOWER}.` },
  'udp-bad-length': { severity: 'error', layer: 'udp', meaning: 'The UDP length field is below 8. The payload is what the IP layer gives.' },
  'udp-length-past-ip-payload': { severity: 'error', layer: 'udp', meaning: 'The UDP length is larger than the IP payload. The payload is what the IP layer gives.' },
  'udp-length-short': { severity: 'note', layer: 'udp', meaning: 'The UDP length is smaller than the IP payload: the payload is trimmed to the UDP length (padding after it ignored).' },
} as const satisfies ProblemCodes;

const TCP = {
  'tcp-truncated': { severity: 'error', layer: 'tcp', meaning: 'The TCP header is cut short.' },
  'tcp-snaplen-cut': { severity: 'note', layer: 'tcp', meaning: `The TCP header or its options are cut short ${SNAPLEN_LOWER}.` },
  'tcp-bad-data-offset': { severity: 'error', layer: 'tcp', meaning: 'The data offset is below 5 (20 bytes) or runs past the segment: the segment has no usable payload.' },
  'tcp-bad-option': { severity: 'warning', layer: 'tcp', meaning: 'A malformed option: no length byte, a length below 2 or past the header, or the wrong length for MSS, window scale, SACK-permitted, SACK or timestamps. After a missing or impossible length byte the remaining options are not read.' },
  'tcp-window-scale-too-large': { severity: 'warning', layer: 'tcp', meaning: 'A window scale shift above 14 (RFC 7323): 14 is used.' },
} as const satisfies ProblemCodes;

const GTPU = {
  'gtpu-truncated': { severity: 'error', layer: 'gtp-u', meaning: 'The GTP-U header, its optional fields (sequence number, N-PDU, next extension type) or an extension header is cut short.' },
  'gtpu-snaplen-cut': { severity: 'note', layer: 'gtp-u', meaning: `The GTP-U header, its optional fields or an extension header is cut short ${SNAPLEN_LOWER}.` },
  'gtpu-bad-version': { severity: 'warning', layer: 'gtp-u', meaning: 'A GTP version other than 1 on the GTP-U port: treated as plain UDP.' },
  'gtpu-not-gtp': { severity: 'note', layer: 'gtp-u', meaning: 'Protocol type bit 0 (GTP\') on the GTP-U port: treated as plain UDP.' },
  'gtpu-length-past-end': { severity: 'error', layer: 'gtp-u', meaning: 'The GTP-U length field runs past the datagram although the capture did not cut it; the bytes present are used.' },
  'gtpu-bad-extension-length': { severity: 'error', layer: 'gtp-u', meaning: 'An extension header with length 0: the chain cannot be followed.' },
  'gtpu-too-many-extensions': { severity: 'error', layer: 'gtp-u', meaning: 'More than 16 extension headers: treated as hostile, decoding stops.' },
  'gtpu-empty-gpdu': { severity: 'warning', layer: 'gtp-u', meaning: 'A G-PDU (user data) without a T-PDU inside.' },
  'gtpu-too-deep': { severity: 'warning', layer: 'gtp-u', meaning: 'GTP-U nested more than 4 deep: not unwrapped further.' },
} as const satisfies ProblemCodes;

export const DECODE_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  { title: 'Link layer: link, Ethernet, VLAN, SLL/SLL2, NULL/loopback', intro: 'Offsets count from the first byte of the frame.', codes: LINK },
  {
    title: 'Network layer: IPv4 and IPv6',
    intro: `Offsets count from the first byte of the frame; inside a reassembled datagram (after IP fragment reassembly) they
count from the start of the reassembled payload, and the message then ends with "(offset within the reassembled
datagram payload)". Inside a GTP-U tunnel the inner packet's offsets are still frame offsets.`,
    codes: NETWORK,
  },
  { title: 'Transport: UDP (layer `udp`)', intro: 'Offsets count from the frame (or from the reassembled payload, as for IP).', codes: UDP },
  { title: 'Transport: TCP header (layer `tcp`)', intro: 'Offsets count from the frame (or from the reassembled payload, as for IP).', codes: TCP },
  {
    title: 'GTP-U (layer `gtp-u`)',
    intro: `Offsets count from the frame (the GTP-U header lies inside the outer UDP datagram). When a header is not GTPv1-U the
datagram is kept as plain UDP.`,
    codes: GTPU,
  },
];

/** Emits a packet-decoder problem by code. */
export const decodeProblem = reporter({ ...LINK, ...NETWORK, ...UDP, ...TCP, ...GTPU });
