// The MQTT sink (the one module that uses the `mqtt` package), laid out as Home Assistant expects:
//   PREFIX/CAMERA/decision     each decision, not retained (QoS 1)
//   PREFIX/CAMERA/state        retained: that camera's latest decision and today's counts (one topic per camera)
//   PREFIX/CAMERA/<type>       restore, mark, review, threshold (events of a camera); PREFIX/<type> for the service's
//   PREFIX/availability        retained online/offline, offline being the connection's last will
//   homeassistant/sensor/...   discovery: one device per camera, numeric sensors; removed when a camera leaves
// A message counts as delivered once the broker acknowledged it (QoS 1); while the broker is away nothing is queued
// in memory: the attempt fails and the event waits in the outbox.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Camera, MqttConfig } from '../config/schema.js';
import type { CameraDay } from '../db/outbox.js';
import type { Logger } from '../logger.js';
import { relativeFile, type PublicEvent } from './public-event.js';
import { readSecret, readSecretFile } from './secrets.js';
import { DeliveryError, type Sink } from './worker.js';

/** How long an acknowledgement may take before the attempt counts as failed (it is then tried again). */
const PUBLISH_TIMEOUT_MS = 10_000;

export interface MqttSinkOptions {
  config: MqttConfig;
  cameras: readonly Camera[];
  logger: Logger;
  /** A camera's day up to a decision (src/db/outbox.ts Outbox.cameraDay), for its retained state. */
  cameraDay: (camera: string, dayStartMs: number, untilId?: number) => CameraDay;
  /** The cameras announced to Home Assistant before (to remove those gone from the config), and saving them. */
  announced: { read(): string[]; write(cameras: string[]): void };
  /** The camera's promise state, where the project reports one (a text sensor then); undefined = none. */
  promiseState?: (camera: string) => string | undefined;
}

/** Builds the client options: credentials from files or the environment, TLS material for mqtts. */
export function mqttClientOptions(config: MqttConfig): IClientOptions {
  const password = readSecret({ key: 'mqtt.passwordFile', file: config.passwordFile, env: 'BIRDWATCH_MQTT_PASSWORD' });
  const readPem = (file: string | undefined): Buffer | undefined =>
    file === undefined ? undefined : fs.readFileSync(file);
  return {
    clientId: config.clientId ?? `birdwatch-${config.topicPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    username: config.username,
    password,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    queueQoSZero: false,
    will: { topic: `${config.topicPrefix}/availability`, payload: Buffer.from('offline'), qos: 1, retain: true },
    ca: readPem(config.caFile),
    cert: readPem(config.certFile),
    key: config.keyFile === undefined ? undefined : Buffer.from(readSecretFile(config.keyFile, 'mqtt.keyFile')),
    rejectUnauthorized: config.rejectUnauthorized,
  };
}

export class MqttSink implements Sink {
  readonly name = 'mqtt';
  private readonly client: MqttClient;
  private cameras: readonly Camera[];
  private announcing: Promise<void> = Promise.resolve();

  constructor(private readonly options: MqttSinkOptions) {
    this.cameras = options.cameras;
    const { config, logger } = options;
    // Loaded here, where a broker is configured, not by every daemon and command that imports the events room.
    const mqtt = createRequire(import.meta.url)('mqtt') as typeof Mqtt;
    this.client = mqtt.connect(config.url, mqttClientOptions(config));
    let wasConnected = false;
    this.client.on('connect', () => {
      logger.info('connected to the MQTT broker', { url: redact(config.url) });
      wasConnected = true;
      this.announce();
    });
    this.client.on('close', () => {
      if (wasConnected)
        logger.warn('lost the MQTT broker; reconnecting (events wait in the database)', { url: redact(config.url) });
      wasConnected = false;
    });
    // A broker that stays away fails every reconnect: the same error is logged once a minute, not once a second.
    let lastError = { message: '', at: 0 };
    this.client.on('error', (err) => {
      if (err.message === lastError.message && Date.now() - lastError.at < 60_000) return;
      lastError = { message: err.message, at: Date.now() };
      logger.warn('MQTT broker error', { url: redact(config.url), error: err.message });
    });
  }

  private get prefix(): string {
    return this.options.config.topicPrefix;
  }

  wants(): boolean {
    return true;
  }

  async deliver(event: PublicEvent): Promise<void> {
    if (event.camera === null) {
      await this.publish(`${this.prefix}/${event.type}`, JSON.stringify(event), false);
      return;
    }
    const camera = topicPart(event.camera);
    await this.publish(`${this.prefix}/${camera}/${event.type}`, JSON.stringify(event), false);
    if (event.type === 'decision') {
      await this.publish(`${this.prefix}/${camera}/state`, JSON.stringify(this.state(event.camera, event)), true);
    }
  }

  camerasChanged(cameras: readonly Camera[]): void {
    this.cameras = cameras;
    if (this.client.connected) this.announce();
  }

  async close(): Promise<void> {
    await this.announcing;
    if (this.client.connected) {
      await this.publish(`${this.prefix}/availability`, 'offline', true).catch(() => undefined);
    }
    await this.client.endAsync();
  }

  /** The camera's retained state: its latest decision and its counts for that decision's day. */
  private state(camera: string, event?: PublicEvent): Record<string, unknown> {
    const dayStart = new Date(event === undefined ? Date.now() : Date.parse(event.time));
    dayStart.setHours(0, 0, 0, 0);
    const day = this.options.cameraDay(camera, dayStart.getTime(), event?.id as number | undefined);
    const config = this.cameras.find((c) => c.name === camera);
    const last =
      event !== undefined
        ? pick(event, ['event_id', 'id', 'action', 'label', 'p_airplane', 'threshold', 'time', 'file'])
        : day.last === undefined
          ? null
          : {
              id: day.last.id,
              action: day.last.action,
              label: day.last.label,
              p_airplane: day.last.p_airplane,
              threshold: day.last.threshold,
              time: day.last.time,
              file: relativeFile(day.last.path, config),
            };
    const state: Record<string, unknown> = {
      camera,
      date: localDate(dayStart),
      airplanes_moved_today: day.counts.moved,
      birds_kept_today: day.counts.kept,
      failed_today: day.counts.failed,
      decisions_today: day.counts.moved + day.counts.kept + day.counts.failed,
      last_p_airplane: day.last_p_airplane,
      last_decision: last,
    };
    const promise = this.options.promiseState?.(camera);
    if (promise !== undefined) state.promise_state = promise;
    return state;
  }

  /** Online, then one discovery device per camera (with its current state), and the removal of cameras gone. */
  private announce(): void {
    this.announcing = this.announcing.then(async () => {
      try {
        await this.publish(`${this.prefix}/availability`, 'online', true);
        const names = this.cameras.map((camera) => camera.name);
        for (const camera of names) {
          for (const [object, config] of Object.entries(this.discovery(camera))) {
            await this.publish(this.discoveryTopic(camera, object), JSON.stringify(config), true);
          }
          await this.publish(`${this.prefix}/${topicPart(camera)}/state`, JSON.stringify(this.state(camera)), true);
        }
        const gone = this.options.announced.read().filter((camera) => !names.includes(camera));
        for (const camera of gone) {
          // An empty retained message removes the entity from Home Assistant and the retained state from the broker.
          for (const object of SENSOR_OBJECTS) await this.publish(this.discoveryTopic(camera, object), '', true);
          await this.publish(this.discoveryTopic(camera, 'promise_state'), '', true);
          await this.publish(`${this.prefix}/${topicPart(camera)}/state`, '', true);
          this.options.logger.info('removed a camera no longer configured from Home Assistant', { camera });
        }
        this.options.announced.write(names);
      } catch (err) {
        this.options.logger.warn('MQTT discovery not announced; tried again at the next connection', {
          error: (err as Error).message,
        });
      }
    });
  }

  private discoveryTopic(camera: string, object: string): string {
    return `${this.options.config.discoveryPrefix}/sensor/${this.nodeId(camera)}/${object}/config`;
  }

  private nodeId(camera: string): string {
    return `${this.prefix}_${camera}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  /** Home Assistant discovery configs of one camera's sensors, by object id. */
  private discovery(camera: string): Record<string, Record<string, unknown>> {
    const node = this.nodeId(camera);
    const common = {
      state_topic: `${this.prefix}/${topicPart(camera)}/state`,
      availability_topic: `${this.prefix}/availability`,
      device: {
        identifiers: [node],
        name: `birdwatch ${camera}`,
        manufacturer: 'birdwatch',
        model: 'airplane filter for a bird camera',
      },
    };
    const sensors: Record<string, Record<string, unknown>> = {
      airplanes_moved_today: {
        name: 'Airplanes moved today',
        icon: 'mdi:airplane',
        state_class: 'total_increasing',
        unit_of_measurement: 'shots',
      },
      birds_kept_today: {
        name: 'Birds kept today',
        icon: 'mdi:bird',
        state_class: 'total_increasing',
        unit_of_measurement: 'shots',
      },
      last_p_airplane: {
        name: 'Last P(airplane)',
        icon: 'mdi:percent',
        state_class: 'measurement',
        suggested_display_precision: 3,
      },
    };
    if (this.options.promiseState?.(camera) !== undefined) {
      sensors.promise_state = { name: 'Promise', icon: 'mdi:shield-check' };
    }
    return Object.fromEntries(
      Object.entries(sensors).map(([object, sensor]) => [
        object,
        {
          ...sensor,
          ...common,
          unique_id: `${node}_${object}`,
          object_id: `${node}_${object}`,
          value_template: `{{ value_json.${object} }}`,
        },
      ]),
    );
  }

  private async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    if (!this.client.connected) throw new DeliveryError('not connected to the MQTT broker');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new DeliveryError(`no acknowledgement from the broker within ` + `${PUBLISH_TIMEOUT_MS / 1000} s`)),
        PUBLISH_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.client.publishAsync(topic, payload, { qos: 1, retain }), timeout]);
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw new DeliveryError(`MQTT publish to ${topic}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

const SENSOR_OBJECTS = ['airplanes_moved_today', 'birds_kept_today', 'last_p_airplane'];

/** A camera name as one topic level: MQTT's wildcards and separator replaced. */
export function topicPart(name: string): string {
  return name.replace(/[#+/]/g, '_').split(String.fromCharCode(0)).join('_');
}

function pick(event: PublicEvent, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in event).map((key) => [key, event[key]]));
}

function localDate(day: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${day.getFullYear()}-${two(day.getMonth() + 1)}-${two(day.getDate())}`;
}

/** The broker URL without a password someone might have put in it. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
