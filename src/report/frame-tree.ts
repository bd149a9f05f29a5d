/**
 * `dissect -V`: a protocol tree per frame, shaped like `tshark -V`, built from the field registry (src/fields/registry.ts
 * and the HTTP and MIKEY declarations beside it): each line that shows a value is a registry field's label and value,
 * so the tree shows what `-T fields` and `-Y` see; the rest is structure (titles of headers, payloads, subtrees).
 */
import { FIELD_LAYERS } from '../fields/registry';
import type { FrameView, TreeBlock } from '../fields/types';

export function frameTree(v: FrameView): string[] {
  const f = v.frame;
  const blocks: (TreeBlock & { order: number })[] = [];
  FIELD_LAYERS.forEach((l, order) => {
    for (const b of l.tree?.(v) ?? []) blocks.push({ ...b, order });
  });
  // outer headers before the tunnel's content; within a depth, in the registry's layer order
  blocks.sort((a, b) => a.depth - b.depth || a.order - b.order);
  const out: string[] = [];
  // values are escaped by formatValue, as in -T fields
  for (const b of blocks) out.push(b.title, ...b.lines);
  if (f.problems.length > 0) {
    out.push('Expert Info:');
    for (const pr of f.problems) {
      const at = pr.offset !== undefined ? ` @${pr.offset}` : '';
      out.push(`    [${pr.severity}] ${pr.layer}/${pr.code}${at}: ${pr.message}`);
    }
  }
  return out;
}
