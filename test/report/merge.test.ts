/**
 * ResultMerger on results of real analyses: what an input says it left out stays said in the merge. A bundled capture
 * with MTK messages of two MSKs (mikey-mbms-kinds.pcap) analysed with room for one MSK's MTK statistics reports
 * `mtkMsksNotKept: 1`; merging two such results reports 2, merging complete ones reports nothing (as analyze does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCaptureInput } from '../../src/capture/capture-set';
import type { CorrelatorOptions } from '../../src/correlate/options';
import { Analyzer } from '../../src/pipeline/analyzer';
import { headerJson, statsJson, ueJson } from '../../src/report/analyze-json';
import { jsonLine } from '../../src/report/json-line';
import { ResultMerger } from '../../src/report/merge';
import { analysisReport } from '../../src/report/analyze-text';
import { capturePath } from '../support/repo';

/** The --json result (header and stats record) of mikey-mbms-kinds.pcap analysed with `correlator`. */
async function result(name: string, correlator: CorrelatorOptions): Promise<string[]> {
  const a = new Analyzer({}, { correlator });
  await readCaptureInput(capturePath('mikey-mbms-kinds.pcap'), (f) => a.frame(f));
  a.finish();
  const ues = a.correlator.ueIdentities();
  return [
    jsonLine(headerJson({ capture: name }, { keyscope: 'test', files: [name] })),
    ...ues.ues.map((u) => jsonLine(ueJson(u))),
    jsonLine(statsJson(a.stats(), ues.sketch)),
  ];
}

function merge(results: string[][]): ResultMerger {
  const m = new ResultMerger();
  m.multipleResults = results.length > 1;
  results.forEach((lines, i) => {
    lines.forEach((l, n) => m.line(`r${i}`, n + 1, l));
    m.end(`r${i}`, lines.length);
  });
  return m;
}

test('merge carries the MSKs whose MTK statistics an input did not keep', { timeout: 60_000 }, async () => {
  const cut = await result('cut', { maxMtkStatistics: 1 });
  const whole = await result('whole', {});
  assert.equal((JSON.parse(cut[cut.length - 1]) as { mtkMsksNotKept?: number }).mtkMsksNotKept, 1, 'the input itself says so');

  assert.equal(merge([cut]).mergedStats().mtkMsksNotKept, 1);
  assert.equal(merge([cut, cut]).mergedStats().mtkMsksNotKept, 2, 'summed, as the inputs’ MTK messages are');
  assert.equal(merge([whole, whole]).mergedStats().mtkMsksNotKept, undefined, 'absent when no input left any out');

  const m = merge([cut, whole]);
  assert.equal(m.mergedStats().mtkMsksNotKept, 1);
  const text = analysisReport(m.collector, m.mergedStats()).join('\n');
  assert.match(text, /MTK statistics of 1 more MSK\(s\) not kept/, 'the merged text report says it as analyze does');
});
