/**
 * Problem codes of reassembly (IP fragments, TCP streams), declared once: severity, layer and meaning.
 * docs/problem-codes.md is generated from these sections.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../common/problem';

/** The layer of a fragment problem is that of the fragmented datagram. */
const IP = ['ipv4', 'ipv6'] as const;

const IP_FRAGMENTS = {
  'ip-fragment-truncated': { severity: 'note', layer: IP, meaning: 'The fragment was not captured whole (snapshot length): it is not reassembled.' },
  'ip-fragment-duplicate': { severity: 'note', layer: IP, meaning: 'The same fragment again (same bytes): a retransmission or a duplicated capture.' },
  'ip-fragment-overlap': { severity: 'note', layer: IP, meaning: 'The fragment partly overlaps earlier ones with the same bytes.' },
  'ip-fragment-overlap-conflict': { severity: 'warning', layer: IP, meaning: 'Overlapping fragments carry different bytes (an evasion attempt or a broken sender): the earlier bytes are kept.' },
  'ip-fragment-length-conflict': { severity: 'warning', layer: IP, meaning: 'The fragment ends past the datagram end an earlier last fragment gave, or a last fragment ends before bytes already seen: the fragment is ignored.' },
  'ip-fragment-too-large': { severity: 'error', layer: IP, meaning: 'The fragment ends past 65535 bytes: dropped.' },
  'ip-fragment-empty': { severity: 'note', layer: IP, meaning: 'An empty fragment with more fragments to follow: ignored.' },
  'ip-fragment-unaligned': { severity: 'note', layer: IP, meaning: 'A fragment that is not the last has a length that is not a multiple of 8. It is still used.' },
  'ip-fragment-too-many': { severity: 'warning', layer: IP, meaning: 'More than 1024 pieces for one datagram: the datagram is given up.' },
  'ip-fragment-budget-exceeded': { severity: 'warning', layer: IP, meaning: 'This datagram alone exceeds the fragment memory budget: given up.' },
  'ip-fragment-evicted': { severity: 'warning', layer: IP, meaning: 'An incomplete datagram was given up to make room (too many pending datagrams, or the memory budget): its payload is lost to the layers above.' },
  'ip-fragment-timeout': { severity: 'warning', layer: IP, meaning: 'A datagram was still incomplete 30 s (packet time) after its first fragment: given up, a fragment was lost.' },
  'ip-fragment-incomplete': { severity: 'warning', layer: IP, meaning: 'A datagram was still incomplete at the end of the capture.' },
} as const satisfies ProblemCodes;

const TCP_STREAMS = {
  'tcp-out-of-window': { severity: 'note', layer: 'tcp', meaning: 'A segment more than 1 GiB ahead of the next expected sequence number: not part of this stream (or a sequence jump), dropped.' },
  'tcp-data-after-fin': { severity: 'warning', layer: 'tcp', meaning: 'Data beyond the sender\'s FIN: ignored.' },
  'tcp-memory-budget': { severity: 'warning', layer: 'tcp', meaning: 'Out-of-order data held for the connection (or for all connections) exceeded its limit: holes were declared gaps to release it, so the stream continues with bytes missing.' },
  'tcp-late-segment': { severity: 'note', layer: 'tcp', meaning: 'A segment appeared in the capture after the peer\'s ACK of its bytes (Wireshark marks that ACK "ACKed unseen segment"): the capture point does not keep the two directions in order (two taps merged, several kernel queues). The bytes arrived within the reordering window (`reorderWindowSeconds`, default 0.5 s of packet time), so they are reassembled in order and not counted as capture loss. Attached to the late segment\'s frame. Bytes still missing when the window passes become a gap (the HTTP layer reports it).' },
  'tcp-retransmission-mismatch': { severity: 'warning', layer: 'tcp', meaning: 'A retransmitted segment carries different bytes than the first copy: a broken middlebox, or the capture shows two different streams under one 4-tuple.' },
} as const satisfies ProblemCodes;

export const REASSEMBLY_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  {
    title: 'IP fragments (reassembly, layer `ipv4` or `ipv6`)',
    intro: `The layer is that of the fragmented datagram. Codes about one fragment are attached to that fragment's frame, with
the offset and length of the fragment's data in the frame. \`ip-fragment-evicted\` and \`ip-fragment-timeout\` go on the
frame being decoded when the datagram was given up, \`ip-fragment-incomplete\` on the frame of the most recent fragment
received; these three have no offset. Defaults: 30 s of packet time, 1024 pending datagrams, 16 MiB held, 1024 pieces
per datagram.`,
    codes: IP_FRAGMENTS,
  },
  {
    title: 'Transport: TCP reassembly (layer `tcp`)',
    intro: `No offset: these concern a connection, not a field. They are attached to the frame whose segment triggered them,
and reported at most once per connection (\`tcp-retransmission-mismatch\`: at most 8 times, then only counted).
Capture gaps in a stream are not problems here: the HTTP layer reports them (\`http-gap…\`).`,
    codes: TCP_STREAMS,
  },
];

/** Emits a reassembly problem by code (`.as(layer, …)` for the IP fragment codes, which carry ipv4 or ipv6). */
export const reassemblyProblem = reporter({ ...IP_FRAGMENTS, ...TCP_STREAMS });

/** A code of a given-up datagram, for the helper that builds its record. */
export type IncompleteDatagramCode = 'ip-fragment-evicted' | 'ip-fragment-timeout' | 'ip-fragment-incomplete';
