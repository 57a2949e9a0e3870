// Telling the club, put together: the sinks the config asks for (MQTT, each webhook) and the delivery worker that
// feeds them from the outbox. The daemon (`birdwatch run`) starts it beside the service; nothing here is on the
// path of a decision.
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { Outbox } from '../db/outbox.js';
import type { Logger } from '../logger.js';
import { MqttSink } from './mqtt-sink.js';
import { cameraPromiseState } from './promise-state.js';
import { WebhookSink, webhookSinkNames } from './webhook-sink.js';
import { DeliveryWorker, type DeliveryOutcome, type Sink } from './worker.js';

export { SecretError } from './secrets.js';
export { DeliveryWorker, type DeliveryOutcome } from './worker.js';

/** The outbox names of the sinks `config` configures (for `birdwatch events`). */
export function configuredSinkNames(config: Config): string[] {
  return [...(config.mqtt ? ['mqtt'] : []), ...webhookSinkNames(config.webhooks)];
}

export interface EventDeliveryOptions {
  /** The configuration in force (a reload's cameras and limits are read from it; mqtt and webhooks at start). */
  current: { readonly config: Config };
  db: Db;
  logger: Logger;
  onOutcome?: (sink: string, outcome: DeliveryOutcome, count: number) => void;
  /** A camera's promise state, where the project reports one (MQTT publishes it as a sensor then). */
  promiseState?: (camera: string) => string | undefined;
}

/**
 * Builds the sinks and starts the worker. Throws SecretError (one line) when a secret file is unreadable or readable
 * by others: the daemon refuses to start rather than run unsigned or unauthenticated.
 */
export function startEventDelivery(options: EventDeliveryOptions): DeliveryWorker {
  const { current, db, logger } = options;
  const { config } = current;
  const outbox = new Outbox(db);
  const sinks: Sink[] = [];
  const names = webhookSinkNames(config.webhooks);
  config.webhooks.forEach((hook, i) => {
    const name = names[i]!;
    sinks.push(
      new WebhookSink({ config: hook, name, lastDeliveredMs: (camera) => outbox.lastDeliveredMs(name, camera) }),
    );
  });
  if (config.mqtt) {
    outbox.sink('mqtt');
    sinks.push(
      new MqttSink({
        config: config.mqtt,
        cameras: config.cameras,
        logger,
        promiseState: options.promiseState ?? ((camera) => cameraPromiseState(db, current.config, camera)),
        cameraDay: (camera, from, untilId) => outbox.cameraDay(camera, from, untilId),
        announced: {
          read: () => JSON.parse(outbox.sink('mqtt').memo ?? '[]') as string[],
          write: (cameras) => outbox.setMemo('mqtt', JSON.stringify(cameras)),
        },
      }),
    );
  }
  const worker = new DeliveryWorker({
    db,
    sinks,
    logger,
    onOutcome: options.onOutcome,
    cameras: () => current.config.cameras,
    limits: () => current.config.events,
  });
  worker.start();
  if (sinks.length > 0) logger.info('delivering events', { sinks: worker.sinkNames.join(',') });
  return worker;
}
