/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics answers the exposition of a KeyscopeMetrics (node:http; the
 * format is prom-client's). Listens on 127.0.0.1 unless told otherwise: `--metrics 9464` and `--metrics :9464` mean
 * 127.0.0.1:9464, `--metrics 0.0.0.0:9464` or `--metrics [::]:9464` open it to the network on purpose.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyscopeMetrics } from './metrics';

/** Where the metrics endpoint listens. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/** The host `--metrics PORT` binds to: loopback only, unless a host is given. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** The path Prometheus scrapes (its default metrics_path). */
export const METRICS_PATH = '/metrics';

/**
 * `[HOST:]PORT`: `9464`, `:9464`, `127.0.0.1:9464`, `localhost:9464`, `[::1]:9464`. Port 0 picks a free port (the
 * command prints the one it got). Throws an Error saying what is wrong.
 */
export function parseMetricsAddress(value: string): MetricsAddress {
  const v = value.trim();
  let host = '';
  let port = v;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (bracket) {
    host = bracket[1];
    port = bracket[2];
  } else if (v.includes(':')) {
    const i = v.lastIndexOf(':');
    host = v.slice(0, i);
    port = v.slice(i + 1);
    if (host.includes(':')) throw new Error('an IPv6 host goes in brackets: [::1]:9464');
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new Error('[HOST:]PORT, e.g. 9464 or 127.0.0.1:9464 (port 0 to 65535)');
  if (host !== '' && !/^[A-Za-z0-9.\-:%]+$/.test(host)) throw new Error(`not a host name or address: ${host}`);
  return { host: host === '' ? DEFAULT_METRICS_HOST : host, port: Number(port) };
}

/** The running endpoint. */
export class MetricsServer {
  private constructor(private readonly server: http.Server, readonly address: MetricsAddress) {}

  /** Listen; rejects with the system's reason (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  static start(metrics: KeyscopeMetrics, at: MetricsAddress): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('GET only\n');
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`keyscope metrics: ${METRICS_PATH}\n`);
        return;
      }
      if (path !== METRICS_PATH) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      metrics.text().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(err)}\n`),
      );
    });
    // a scrape must never keep the process alive once the command is done with it
    server.keepAliveTimeout = 5_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo;
        resolve(new MetricsServer(server, { host: a.address, port: a.port }));
      });
    });
  }

  /** The scrape URL, e.g. http://127.0.0.1:9464/metrics. */
  get url(): string {
    const h = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${h}:${this.address.port}${METRICS_PATH}`;
  }

  /** Stop listening and drop idle keep-alive connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
