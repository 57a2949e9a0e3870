// One webhook (the one module that POSTs to receivers, with node's fetch): each event it wants (its events, cameras
// and actions filters, its cooldown) is POSTed as JSON, signed: X-Birdwatch-Signature: sha256=<hex HMAC-SHA256 of the
// raw body with the secret>, X-Birdwatch-Event: <type>. A 2xx delivers; a timeout, a network error, 408, 429 or 5xx
// is tried again later; any other answer is the receiver refusing the event (failed, not sent again).
import { createHmac } from 'node:crypto';
import type { WebhookConfig } from '../config/schema.js';
import type { PublicEvent } from './public-event.js';
import { readSecret, SecretError } from './secrets.js';
import { DeliveryError, type Sink } from './worker.js';

export interface WebhookSinkOptions {
  config: WebhookConfig;
  /** Its key in the outbox (webhookSinkNames). */
  name: string;
  /** When the newest event of a camera was delivered here (from the outbox), for the cooldown after a restart. */
  lastDeliveredMs: (camera: string | null) => number | undefined;
}

/** The sink names of the configured webhooks: the URL without credentials or query; a repeated one gets #2, #3... */
export function webhookSinkNames(hooks: readonly WebhookConfig[]): string[] {
  const seen = new Map<string, number>();
  return hooks.map((hook) => {
    const url = new URL(hook.url);
    const base = `webhook:${url.origin}${url.pathname}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

/** The signature header's value for a body (what a receiver recomputes and compares). */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookSink implements Sink {
  readonly name: string;
  private readonly secret: string | undefined;
  /** Per camera, the time of the last event delivered here (the cooldown counts from it, by event time). */
  private readonly lastSent = new Map<string | null, number | undefined>();

  constructor(private readonly options: WebhookSinkOptions) {
    this.name = options.name;
    const { config } = options;
    this.secret = readSecret({ key: `${options.name} secretFile`, file: config.secretFile, env: config.secretEnv });
    if (config.secretEnv !== undefined && config.secretFile === undefined && this.secret === undefined) {
      throw new SecretError(`${options.name}: the environment variable ${config.secretEnv} (secretEnv) is not set`);
    }
  }

  wants(event: PublicEvent): boolean {
    const { events, cameras, actions, cooldownSeconds } = this.options.config;
    if (events !== undefined && !events.includes(event.type)) return false;
    if (cameras !== undefined && (event.camera === null || !cameras.includes(event.camera))) return false;
    if (actions !== undefined && event.type === 'decision' && !actions.includes(event.action as 'moved')) return false;
    if (cooldownSeconds > 0) {
      if (!this.lastSent.has(event.camera)) this.lastSent.set(event.camera, this.options.lastDeliveredMs(event.camera));
      const last = this.lastSent.get(event.camera);
      if (last !== undefined && Date.parse(event.time) - last < cooldownSeconds * 1000) return false;
    }
    return true;
  }

  delivered(event: PublicEvent): void {
    this.lastSent.set(event.camera, Date.parse(event.time));
  }

  async deliver(event: PublicEvent, signal: AbortSignal): Promise<void> {
    const { config } = this.options;
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'birdwatch',
      'x-birdwatch-event': event.type,
      'x-birdwatch-event-id': event.event_id,
    };
    if (this.secret !== undefined) headers['x-birdwatch-signature'] = signBody(body, this.secret);
    let response: Response;
    try {
      response = await fetch(config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutSeconds * 1000)]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${config.timeoutSeconds} s`
          : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new DeliveryError(`POST ${this.name.slice('webhook:'.length)}: ${why}`);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return;
    const retry = response.status >= 500 || response.status === 408 || response.status === 429;
    throw new DeliveryError(`POST ${this.name.slice('webhook:'.length)}: HTTP ${response.status}`, !retry);
  }

  async close(): Promise<void> {}
}
