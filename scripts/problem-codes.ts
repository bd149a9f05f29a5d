/**
 * Generates docs/problem-codes.md from the problem catalogs of the dissector layers (src/capture/problems.ts,
 * src/decode/problems.ts, ...): `npm run docs`. With `--check` it writes nothing and exits 1 when the file differs.
 * test/docs/problem-codes.test.ts keeps the committed file equal to this output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CAPTURE_PROBLEM_SECTIONS } from '../src/capture/problems';
import { layersOf, type ProblemSection } from '../src/common/problem';
import { DECODE_PROBLEM_SECTIONS } from '../src/decode/problems';
import { HTTP_PROBLEM_SECTIONS } from '../src/protocols/http/problems';
import { MBMS_PROBLEM_SECTIONS } from '../src/protocols/mbms/problems';
import { MIKEY_PROBLEM_SECTIONS } from '../src/protocols/mikey/problems';
import { REASSEMBLY_PROBLEM_SECTIONS } from '../src/reassembly/problems';

/** Every section, in pipeline order (capture → link → network → reassembly → transport → applications). */
export const PROBLEM_SECTIONS: readonly ProblemSection[] = [
  ...CAPTURE_PROBLEM_SECTIONS,
  ...DECODE_PROBLEM_SECTIONS.slice(0, 2),
  REASSEMBLY_PROBLEM_SECTIONS[0],
  ...DECODE_PROBLEM_SECTIONS.slice(2, 4),
  ...REASSEMBLY_PROBLEM_SECTIONS.slice(1),
  ...DECODE_PROBLEM_SECTIONS.slice(4),
  ...HTTP_PROBLEM_SECTIONS,
  ...MBMS_PROBLEM_SECTIONS,
  ...MIKEY_PROBLEM_SECTIONS,
];

export const DOC_PATH = path.join('docs', 'problem-codes.md');

const PREAMBLE = `# Problem codes (expert info)

Every dissector in keyscope reports a malformed or suspicious field as a **problem** and keeps decoding, in the
manner of Wireshark's expert info. A problem is \`{code, severity, message, layer, offset?, length?}\`
(\`src/common/problem.ts\`). This page lists every code the dissectors emit, one table per layer, with its severity,
the layer string it carries, and what it means on the wire.

The analyzer's procedure diagnostics (\`credentials-rejected\`, \`ack-missing\`, \`counter-replay\`, … from
\`keyscope analyze\`) are a separate catalogue: [docs/diagnostics.md](diagnostics.md).

## How problems show up

| where | what you see |
|---|---|
| \`keyscope dissect\` (one line per frame) | \` [Malformed]\` appended to the Info column when the frame has at least one problem of severity \`error\`. Warnings, notes and chats do not mark the line. |
| \`keyscope dissect -V\` | after the protocol tree, an \`Expert Info:\` section with one line per problem: \`[severity] layer/code @offset: message\` (\`@offset\` only when the problem has an offset). |
| \`keyscope dissect --json\` | every frame object has a \`problems\` array (empty when there are none) of \`{code, severity, layer, message}\` plus \`offset\` and \`length\` when known. |
| after the frames, when reading a stream (\`dissect -\`, live capture) | a frame is printed as soon as it is decoded, so problems found at the end of the capture for frames already printed (a message cut by the end, fragments never completed) come last: an \`End of capture:\` block of \`frame N: [severity] layer/code: message\` lines, or with \`--json\` one last object \`{"endOfCapture": true, "problems": [...]}\` whose entries also carry \`frame\`. Reading a file, they are attached to their frames as usual. |
| standard error | problems of the capture *file* (a truncated last record, a damaged block) belong to no frame: after the frames, \`dissect\` prints each as \`keyscope: <file>: <severity>: <message>\` (without the code) and still exits 0. Unusable input (bad magic, truncated file header, I/O error) is not a problem but a fatal error: exit status 2. |
| \`keyscope analyze\` | problems are counted per code as *protocol anomalies*, with a few example frames each. |

Severities, worst first:

- **error**: the bytes break the protocol: a length runs past the data, a header is cut, a MAC does not verify.
  What follows the bad field is usually not decoded.
- **warning**: decoded, but something is wrong or data was lost: a retransmission with different bytes, a capture
  gap inside an HTTP body, a profile rule of TS 33.246 broken.
- **note**: unusual but legitimate, or a limit of the analysis (frame cut by the snapshot length, no key to verify
  with, a nonce challenged before the capture started).
- **chat**: normal protocol behaviour worth a mention (a periodic MTK resend).

Each code has exactly one severity and one meaning. A header cut short is therefore two codes: \`…-truncated\` (error)
when the packet itself is too short, \`…-snaplen-cut\` (note) when the frame was cut on purpose by the capture's
snapshot length (the bytes existed on the wire, the capture did not keep them).

Problems found after their frame (TCP reassembly, the end of an HTTP stream, an IP datagram that never completed) are
attached to the frame that revealed them; each section says which.

This page is generated from the problem catalogs, where each code is declared once (\`src/capture/problems.ts\`,
\`src/decode/problems.ts\`, \`src/reassembly/problems.ts\`, \`src/protocols/{http,mbms,mikey}/problems.ts\`): edit those
and run \`npm run docs\`. \`test/docs/problem-codes.test.ts\` fails when this page and the catalogs differ.
`;

function cell(text: string, where: string): string {
  if (/[|\n]/.test(text)) throw new Error(`${where}: a table cell cannot hold '|' or a line break`);
  return text;
}

function table(section: ProblemSection): string {
  const entries = Object.entries(section.codes);
  const scoped = entries.some(([, s]) => s.scope !== undefined);
  const head = scoped ? '| code | severity | layer | scope | meaning |\n|---|---|---|---|---|' : '| code | severity | layer | meaning |\n|---|---|---|---|';
  const rows = entries.map(([code, s]) => {
    const layers = layersOf(s).map((l) => `\`${l}\``).join(', ');
    const cols = [`\`${code}\``, s.severity, layers, ...(scoped ? [s.scope ?? ''] : []), cell(s.meaning, code)];
    return `| ${cols.join(' | ')} |`;
  });
  return [head, ...rows].join('\n');
}

/** The whole page. */
export function renderProblemCodesDoc(sections: readonly ProblemSection[] = PROBLEM_SECTIONS): string {
  const parts = [PREAMBLE];
  for (const s of sections) parts.push(`## ${s.title}\n\n${s.intro ? `${s.intro}\n\n` : ''}${table(s)}\n`);
  return parts.join('\n');
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  const file = path.join(root, DOC_PATH);
  const text = renderProblemCodesDoc();
  if (process.argv.includes('--check')) {
    const same = readFileSync(file, 'utf8') === text;
    if (!same) process.stderr.write(`${DOC_PATH} is out of date: run npm run docs\n`);
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${DOC_PATH}\n`);
  }
}
