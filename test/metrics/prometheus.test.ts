/**
 * `--metrics` against the figures of `analyze --json` for the same traffic (issue #15): the exposition keyscope
 * serves, and what a real Prometheus server (Debian package `prometheus`, installed by scripts/install-system-deps.sh)
 * scrapes from it and answers on its query API. Also: every PromQL expression of grafana/keyscope.json and
 * prometheus/alerts.yml is accepted by that server, and `promtool check rules` passes.
 *
 * Network: 127.184.0.0/16 belongs to this file (keyscope on 127.184.0.1, Prometheus on 127.184.0.2, free ports).
 * Both children are tied (test/support/proc.ts) and stopped in `after`; temporary files are removed there.
 * Without prometheus/promtool on PATH the Prometheus tests skip, saying so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { spawnSync, killGroup } from '../support/proc';
import { startWatched, until, type WatchedChild } from '../support/live-child';
import { capturePath, cliPath, repoRoot } from '../support/repo';
import { nonZero, parseExposition, sumBy, type Sample } from './exposition';

/** Fails (never hangs) when something does not happen: a guard, not a speed assertion. */
const GUARD_MS = 60_000;
const KEYSCOPE_HOST = '127.184.0.1';
const PROMETHEUS_HOST = '127.184.0.2';
/** The README's options for sim-faults.pcap. */
const FAULT_OPTIONS = ['--keys', capturePath('sim-faults.keys'), '--ack-timeout', '0.72', '--delivery-timeout', '0.72', '--pull-timeout', '0.72', '--storm-ues', '5', '--storm-window', '0.05'];

interface Stats {
  frames: number;
  ues: number;
  byVerdict: Record<string, number>;
  byProcedure: Record<string, number>;
  diagnostics: Record<string, number>;
  diagnosticsBySeverity: Record<string, number>;
  anomalies: Record<string, number>;
  ack: { requested: number; acked: number; rate?: number };
  ackByBmsc: Record<string, { requested: number; acked: number; rate?: number }>;
  ackByKeyGroup: Record<string, { requested: number; acked: number; rate?: number }>;
  latency: Record<'challengeToCredentials' | 'requestTo200' | 'okToMikey' | 'mikeyToAck', { count: number; mean?: number }>;
}

interface Transaction {
  type: 'transaction';
  procedure: string;
  verdict: string;
}

const STEP_OF = { challengeToCredentials: '401_to_credentials', requestTo200: 'request_to_200', okToMikey: '200_to_mikey', mikeyToAck: 'mikey_to_ack' } as const;

const has = (cmd: string) => !spawnSync(cmd, ['--version'], { encoding: 'utf8' }).error;
const havePrometheus = has('prometheus') && has('promtool');
const skipPrometheus = havePrometheus ? false : 'prometheus/promtool not installed (bash scripts/install-system-deps.sh installs the Debian package prometheus)';

let keyscope: WatchedChild | undefined;
let prometheus: WatchedChild | undefined;
let tmp: string | undefined;
let metricsUrl = '';
let stats: Stats;
let transactions: Transaction[] = [];
let promBase = '';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return (await r.json()) as T;
}

interface PromResult {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

function query(expr: string): Promise<PromResult> {
  return getJson<PromResult>(`${promBase}/api/v1/query?query=${encodeURIComponent(expr)}`);
}

/** An instant vector as label-key → value (label values joined with a space, in the order of `by`). */
async function vector(expr: string, by: string[]): Promise<Record<string, number>> {
  const r = await query(expr);
  assert.equal(r.status, 'success', `${expr}: ${r.error ?? ''}`);
  const out: Record<string, number> = {};
  for (const s of r.data?.result ?? []) out[by.map((b) => s.metric[b] ?? '').join(' ')] = Number(s.value[1]);
  return out;
}

function assertClose(actual: number | undefined, expected: number | undefined, what: string): void {
  assert.ok(actual !== undefined && expected !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);
}

before(async () => {
  keyscope = startWatched(process.execPath, [
    cliPath(), 'analyze', ...FAULT_OPTIONS, '--json', '--metrics', `${KEYSCOPE_HOST}:0`, '--metrics-linger', '600', capturePath('sim-faults.pcap'),
  ]);
  const k = keyscope;
  await until('the metrics URL and the end of the analysis', () => /input ended; serving metrics/.test(k.err()), k, GUARD_MS);
  metricsUrl = /metrics at (http:\S+)/.exec(k.err())?.[1] ?? '';
  const records = k.out().trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  stats = records.find((r) => r.type === 'stats') as unknown as Stats;
  transactions = records.filter((r): r is Transaction => r.type === 'transaction');
});

after(async () => {
  for (const c of [prometheus, keyscope]) {
    if (!c || c.child.exitCode !== null || c.child.signalCode !== null) continue;
    killGroup(c.child, 'SIGTERM');
    const t = setTimeout(() => killGroup(c.child, 'SIGKILL'), 10_000);
    await c.exit;
    clearTimeout(t);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('analyze --metrics HOST:0 serves on that loopback address the counts analyze --json reports', async () => {
  assert.match(metricsUrl, new RegExp(`^http://${KEYSCOPE_HOST.replace(/\./g, '\\.')}:\\d+/metrics$`));
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples: Sample[] = parseExposition(await res.text());

  // the capture is the one in the README: its figures are not trivially zero
  assert.ok(stats.ack.requested > 0 && stats.ack.acked < stats.ack.requested, JSON.stringify(stats.ack));
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_expected_total', []), { '': stats.ack.requested });
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_total', []), { '': stats.ack.acked });
  const byBmsc = (k: 'requested' | 'acked') => Object.fromEntries(Object.entries(stats.ackByBmsc).map(([b, a]) => [b, a[k]]));
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_expected_total', ['bmsc']), byBmsc('requested'));
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_total', ['bmsc']), byBmsc('acked'));
  const byGroup = (k: 'requested' | 'acked') => Object.fromEntries(Object.entries(stats.ackByKeyGroup).map(([g, a]) => [g, a[k]]));
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_expected_total', ['key_group']), byGroup('requested'));
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_total', ['key_group']), byGroup('acked'));

  assert.deepEqual(nonZero(sumBy(samples, 'keyscope_diagnostics_total', ['code'])), stats.diagnostics);
  assert.deepEqual(nonZero(sumBy(samples, 'keyscope_diagnostics_total', ['severity'])), stats.diagnosticsBySeverity);
  // every catalog code is there from the start (at 0), so alerts see the first occurrence
  assert.ok(Object.keys(sumBy(samples, 'keyscope_diagnostics_total', ['code'])).length > Object.keys(stats.diagnostics).length);
  assert.deepEqual(sumBy(samples, 'keyscope_anomalies_total', ['code']), stats.anomalies);

  // transactions by verdict as the records say (every one is closed by the end of the file)
  const closed: Record<string, number> = {};
  for (const t of transactions) closed[`${t.procedure} ${t.verdict}`] = (closed[`${t.procedure} ${t.verdict}`] ?? 0) + 1;
  assert.deepEqual(nonZero(sumBy(samples, 'keyscope_transactions_total', ['procedure', 'verdict'])), closed);
  assert.deepEqual(nonZero(sumBy(samples, 'keyscope_transactions_total', ['verdict'])), stats.byVerdict);
  assert.deepEqual(nonZero(sumBy(samples, 'keyscope_transactions_total', ['procedure'])), stats.byProcedure);

  // one histogram per step, as many samples as the stats' distributions, the same sum
  for (const [k, step] of Object.entries(STEP_OF) as [keyof typeof STEP_OF, string][]) {
    const d = stats.latency[k];
    assert.deepEqual(sumBy(samples, 'keyscope_step_latency_seconds_count', [], { step }), { '': d.count }, step);
    assert.deepEqual(sumBy(samples, 'keyscope_step_latency_seconds_bucket', [], { step, le: '+Inf' }), { '': d.count }, step);
    if (d.count > 0) assertClose(sumBy(samples, 'keyscope_step_latency_seconds_sum', [], { step })[''] / d.count, d.mean, `${step} mean`);
    // cumulative buckets never decrease
    const buckets = samples.filter((s) => s.name === 'keyscope_step_latency_seconds_bucket' && s.labels.step === step).map((s) => s.value);
    assert.ok(buckets.every((v, i) => i === 0 || v >= buckets[i - 1]), `${step}: ${buckets.join(',')}`);
  }

  assert.deepEqual(sumBy(samples, 'keyscope_capture_packets_total', []), { '': stats.frames });
  assert.ok(sumBy(samples, 'keyscope_capture_bytes_total', [])[''] > stats.frames);
  // the file is read: no transaction or stream is open any more, the UE table still holds every UE (none forgotten);
  // a file has no engine drop counter
  for (const g of ['keyscope_open_transactions', 'keyscope_open_tcp_streams']) assert.deepEqual(sumBy(samples, g, []), { '': 0 }, g);
  assert.deepEqual(sumBy(samples, 'keyscope_open_ues', []), { '': stats.ues });
  assert.deepEqual(sumBy(samples, 'keyscope_capture_dropped_packets_total', []), {});
  // no per-UE label anywhere
  assert.ok(samples.every((s) => !('ue' in s.labels)));
  assert.deepEqual(sumBy(samples, 'keyscope_info', ['command']), { analyze: 1 });
});

test('a real Prometheus scrapes keyscope and its query API gives the ACK ratio and diagnostic counts analyze reports', { skip: skipPrometheus }, async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-prometheus-'));
  const target = new URL(metricsUrl).host;
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(path.join(repoRoot(), 'prometheus', 'alerts.yml'))}`,
    'scrape_configs:',
    '  - job_name: keyscope',
    '    static_configs:',
    `      - targets: [${JSON.stringify(target)}]`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(tmp, 'prometheus.yml'), config);
  const port = await freePort(PROMETHEUS_HOST);
  promBase = `http://${PROMETHEUS_HOST}:${port}`;
  prometheus = startWatched('prometheus', [
    `--config.file=${path.join(tmp, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(tmp, 'data')}`,
    `--web.listen-address=${PROMETHEUS_HOST}:${port}`,
    '--log.level=warn',
  ]);
  const p = prometheus;
  // scraped: the ACK series are in the server's storage
  let scraped = false;
  const end = Date.now() + GUARD_MS;
  while (!scraped) {
    if (p.child.exitCode !== null) throw new Error(`prometheus exited ${p.child.exitCode}: ${p.err().slice(-800)}`);
    if (Date.now() > end) throw new Error(`no scrape within ${GUARD_MS} ms: ${p.err().slice(-800)}`);
    try {
      const r = await query('keyscope_mikey_acks_expected_total');
      scraped = r.status === 'success' && (r.data?.result.length ?? 0) > 0;
    } catch {
      // not listening yet
    }
    if (!scraped) await new Promise((r) => setTimeout(r, 250));
  }
  const up = await vector('up{job="keyscope"}', ['instance']);
  assert.deepEqual(up, { [target]: 1 });

  // the ACK rate: MSK messages ACKed in time / MSK messages due an ACK (docs/metrics.md), overall and per BM-SC
  const rate = await vector('sum(keyscope_mikey_acks_total) / sum(keyscope_mikey_acks_expected_total)', []);
  assertClose(rate[''], stats.ack.rate, 'ACK rate');
  const perBmsc = await vector('sum by (bmsc) (keyscope_mikey_acks_total) / sum by (bmsc) (keyscope_mikey_acks_expected_total)', ['bmsc']);
  assert.deepEqual(Object.keys(perBmsc).sort(), Object.keys(stats.ackByBmsc).sort());
  for (const [b, a] of Object.entries(stats.ackByBmsc)) assertClose(perBmsc[b], a.rate, `ACK rate of ${b}`);
  const perGroup = await vector('sum by (key_group) (keyscope_mikey_acks_total) / sum by (key_group) (keyscope_mikey_acks_expected_total)', ['key_group']);
  for (const [g, a] of Object.entries(stats.ackByKeyGroup)) assertClose(perGroup[g], a.rate, `ACK rate of key group ${g}`);

  assert.deepEqual(await vector('sum by (code) (keyscope_diagnostics_total) > 0', ['code']), stats.diagnostics);
  assert.deepEqual(await vector('sum by (severity) (keyscope_diagnostics_total) > 0', ['severity']), stats.diagnosticsBySeverity);
  assert.deepEqual(await vector('sum(keyscope_step_latency_seconds_count{step="mikey_to_ack"})', []), { '': stats.latency.mikeyToAck.count });
});

/** Grafana's variables, as the dashboard uses them, replaced by values that make the expression plain PromQL. */
const GRAFANA_VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $__range: '5m',
  $job: '.*',
  $instance: '.*',
  $bmsc: '.*',
  $key_group: '.*',
};

function dashboardExpressions(): string[] {
  const dash = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'grafana', 'keyscope.json'), 'utf8')) as unknown;
  const exprs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'expr' && typeof x === 'string') exprs.push(x);
        // a variable's label_values(SERIES, LABEL): its series selector is PromQL
        else if (k === 'definition' && typeof x === 'string') {
          const m = /^label_values\((.*),\s*[a-z_]+\)$/.exec(x);
          assert.ok(m, `variable query not label_values(selector, label): ${x}`);
          exprs.push(m[1]);
        } else walk(x);
      }
    }
  };
  walk(dash);
  return exprs.map((e) => e.replace(/\$[a-z_]+/g, (name) => {
    const value = GRAFANA_VARIABLES[name];
    assert.ok(value !== undefined, `unknown Grafana variable ${name} in ${e}`);
    return value;
  }));
}

test('grafana/keyscope.json: a provisionable dashboard on a templated Prometheus datasource', () => {
  const dash = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'grafana', 'keyscope.json'), 'utf8')) as {
    uid: string;
    panels: { type: string; title: string; datasource?: { type: string; uid: string }; targets?: { expr: string }[] }[];
    templating: { list: { name: string; type: string; query: unknown }[] };
  };
  assert.equal(dash.uid, 'keyscope-mbms');
  const ds = dash.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  assert.deepEqual(ds && { type: ds.type, query: ds.query }, { type: 'datasource', query: 'prometheus' });
  const panels = dash.panels.filter((p) => p.type !== 'row');
  for (const p of panels) {
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, p.title);
    assert.ok((p.targets ?? []).length > 0, p.title);
  }
  const all = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
  // what the issue asks the dashboard to show
  for (const needle of ['keyscope_mikey_acks_total', 'histogram_quantile(0.5', 'histogram_quantile(0.95', 'keyscope_diagnostics_total', 'keyscope_capture_loss_ratio', 'keyscope_capture_packets_total'])
    assert.ok(all.includes(needle), needle);
  assert.ok(dashboardExpressions().length >= panels.length);
});

test('every PromQL expression of the dashboard and the alert rules is accepted by Prometheus; promtool check rules passes', { skip: skipPrometheus }, async () => {
  assert.ok(promBase, 'the Prometheus of the previous test is running');
  const alerts = parseYaml(fs.readFileSync(path.join(repoRoot(), 'prometheus', 'alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const exprs = [...dashboardExpressions(), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
  assert.ok(exprs.length > 20, String(exprs.length));
  for (const e of exprs) {
    const r = await query(e);
    assert.equal(r.status, 'success', `${e}\n→ ${r.errorType ?? ''}: ${r.error ?? ''}`);
  }
  // the server loaded the rules file too, and evaluates every rule without error
  const rules = await getJson<{ data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } }>(`${promBase}/api/v1/rules`);
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  assert.deepEqual(loaded.map((r) => r.name).sort(), alerts.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort());
  const end = Date.now() + GUARD_MS;
  for (;;) {
    const now = (await getJson<{ data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } }>(`${promBase}/api/v1/rules`)).data.groups.flatMap((g) => g.rules);
    if (now.every((r) => r.health === 'ok')) break;
    assert.ok(!now.some((r) => r.health === 'err'), JSON.stringify(now.filter((r) => r.health === 'err')));
    assert.ok(Date.now() < end, `rules not evaluated: ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  for (const [args, what] of [
    [['check', 'rules', path.join(repoRoot(), 'prometheus', 'alerts.yml')], 'rules'],
    [['check', 'config', path.join(repoRoot(), 'prometheus', 'prometheus.yml')], 'example config'],
  ] as const) {
    const r = spawnSync('promtool', [...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool ${what}: ${r.stdout}${r.stderr}`);
  }
});

test('the analyze child ends on SIGTERM during the linger with analyze\'s own exit code (1: error diagnostics)', async () => {
  const k = keyscope as WatchedChild;
  killGroup(k.child, 'SIGTERM');
  assert.equal(await k.exit, 1);
  assert.match(k.err(), /input ended; serving metrics 600 s more/);
});
