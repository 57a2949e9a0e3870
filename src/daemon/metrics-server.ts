// The optional HTTP listener (`--metrics-listen HOST:PORT`): GET /metrics (Prometheus text) and GET /healthz (200 or
// 503 with a small JSON). node:http rather than fastify: two read-only routes need no framework, and fastify
// belongs to the web page's module (one module per framework).
import http from 'node:http';
import type { Logger } from '../logger.js';
import type { DaemonMetrics } from './metrics.js';

export interface Health {
  ok: boolean;
  /** What is wrong, one sentence each; empty when ok. */
  problems: string[];
  [key: string]: unknown;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  metrics: DaemonMetrics;
  health: () => Health;
  logger: Logger;
}

export class MetricsServer {
  private readonly server: http.Server;

  constructor(private readonly options: MetricsServerOptions) {
    this.server = http.createServer((request, response) => void this.handle(request, response));
    // Scrapers hold connections open between scrapes; none of them may delay a shutdown.
    this.server.keepAliveTimeout = 5000;
  }

  /** Resolves once listening; rejects (with the reason) if the address cannot be bound. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
        resolve({ host: this.options.host, port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = (request.url ?? '/').split('?')[0];
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return send(response, 405, 'text/plain; charset=utf-8', 'only GET\n', { allow: 'GET, HEAD' });
      }
      if (url === '/metrics') {
        const { body, contentType } = await this.options.metrics.render();
        return send(response, 200, contentType, body);
      }
      if (url === '/healthz') {
        const health = this.options.health();
        return send(response, health.ok ? 200 : 503, 'application/json', JSON.stringify(health) + '\n');
      }
      return send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
    } catch (err) {
      this.options.logger.warn('metrics endpoint failed', { url, error: (err as Error).message });
      return send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
    }
  }
}

function send(
  response: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  response.end(body);
}
