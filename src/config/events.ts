// The config keys of telling the club (mqtt, webhooks, smtp, events: used by src/events/): each declared once here with its type,
// default, limits and description (TypeBox), checked with errors naming the key and the file. Secrets are never
// config values: only the files (or environment variables) they are read from (src/events/secrets.ts).
import path from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const EventTypeName = Type.Union(['decision', 'restore', 'mark', 'review', 'threshold', 'model-swap']
  .map((t) => Type.Literal(t)));

export const MqttSchema = Type.Object({
  url: Type.String({ pattern: '^mqtts?://', description: 'broker, mqtt://HOST:PORT or mqtts://HOST:PORT' }),
  topicPrefix: Type.String({ default: 'birdwatch', minLength: 1, pattern: '^[^#+]+$',
    description: 'first part of every topic (PREFIX/CAMERA/decision...)' }),
  discoveryPrefix: Type.String({ default: 'homeassistant', minLength: 1, pattern: '^[^#+]+$',
    description: "Home Assistant's MQTT discovery prefix" }),
  username: Type.Optional(Type.String({ description: 'broker user' })),
  passwordFile: Type.Optional(Type.String({ description: 'file holding the broker password (mode 600 or 400); ' +
    'or set BIRDWATCH_MQTT_PASSWORD' })),
  clientId: Type.Optional(Type.String({ description: 'MQTT client id (default birdwatch-PREFIX)' })),
  caFile: Type.Optional(Type.String({ description: 'mqtts: CA certificate(s) to trust (PEM)' })),
  certFile: Type.Optional(Type.String({ description: 'mqtts: client certificate (PEM)' })),
  keyFile: Type.Optional(Type.String({ description: 'mqtts: client key (PEM; a secret file)' })),
  rejectUnauthorized: Type.Boolean({ default: true, description: "mqtts: refuse a broker whose certificate does " +
    'not verify' }),
}, { additionalProperties: false });

export const WebhookSchema = Type.Object({
  url: Type.String({ pattern: '^https?://', description: 'receiver; each event is POSTed here as JSON' }),
  secretFile: Type.Optional(Type.String({ description: 'file holding the HMAC secret (mode 600 or 400)' })),
  secretEnv: Type.Optional(Type.String({ description: 'or: name of the environment variable holding it' })),
  events: Type.Optional(Type.Array(EventTypeName, { description: 'only these event types (default all)' })),
  cameras: Type.Optional(Type.Array(Type.String(), { description: 'only events of these cameras (default all)' })),
  actions: Type.Optional(Type.Array(Type.Union([Type.Literal('moved'), Type.Literal('kept'), Type.Literal('failed')]),
    { description: 'decisions with these actions only (default all)' })),
  cooldownSeconds: Type.Number({ default: 0, minimum: 0, description: 'after a delivered event, later events of ' +
    'the same camera within this many seconds are not sent' }),
  timeoutSeconds: Type.Number({ default: 10, exclusiveMinimum: 0, maximum: 300, description: 'per attempt' }),
}, { additionalProperties: false });

export const SmtpSchema = Type.Object({
  host: Type.String({ minLength: 1, description: 'mail server' }),
  port: Type.Integer({ default: 587, minimum: 1, maximum: 65535 }),
  security: Type.Union([Type.Literal('starttls'), Type.Literal('tls'), Type.Literal('none')], { default: 'starttls',
    description: "'starttls' (port 587), 'tls' (port 465) or 'none' (a local relay only)" }),
  user: Type.Optional(Type.String()),
  passwordFile: Type.Optional(Type.String({ description: 'file holding the SMTP password (mode 600 or 400); or set ' +
    'BIRDWATCH_SMTP_PASSWORD' })),
  from: Type.String({ minLength: 3, description: 'sender address of the digest' }),
  to: Type.Optional(Type.Array(Type.String({ minLength: 3 }), { description: 'who gets the digest (or --to)' })),
  rejectUnauthorized: Type.Boolean({ default: true }),
}, { additionalProperties: false });

export const EventsSchema = Type.Object({
  maxAgeHours: Type.Number({ default: 168, exclusiveMinimum: 0, description: 'an event a sink has not taken ' +
    'after this long is dropped for it (logged, counted); delivered events are forgotten after it too' }),
  maxPending: Type.Integer({ default: 100_000, minimum: 1, description: 'most events waiting per sink; the ' +
    'oldest beyond it are dropped (logged, counted)' }),
  retryMaxSeconds: Type.Number({ default: 300, minimum: 0.1, description: 'longest wait between two tries of a ' +
    'sink that fails (the wait doubles from 1 s)' }),
  pollMs: Type.Integer({ default: 500, minimum: 10, maximum: 60_000, description: 'how often the worker looks for ' +
    "new events (other processes' restores and marks too)" }),
}, { additionalProperties: false });

export type MqttConfig = Static<typeof MqttSchema>;
export type WebhookConfig = Static<typeof WebhookSchema>;
export type SmtpConfig = Static<typeof SmtpSchema>;
export type EventsLimits = Static<typeof EventsSchema>;

export interface EventsConfig {
  mqtt?: MqttConfig;
  webhooks: WebhookConfig[];
  smtp?: SmtpConfig;
  events: EventsLimits;
}

/** The top-level keys this module declares, with their one-line description (for the config's key list). */
export const EVENTS_CONFIG_KEYS: Record<string, string> = {
  mqtt: 'MQTT broker for Home Assistant: {url, topicPrefix, username, passwordFile, caFile, certFile, keyFile}',
  webhooks: 'signed webhooks: [{url, secretFile, events, cameras, actions, cooldownSeconds, timeoutSeconds}]',
  smtp: 'mail server for the digest: {host, port, security, user, passwordFile, from, to}',
  events: 'the outbox: {maxAgeHours, maxPending, retryMaxSeconds, pollMs}',
};

/** A config value that does not fit its declaration; the message names the key and the file. */
export class EventsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventsConfigError';
  }
}

/** Checks and completes the events keys of a config file's JSON; file paths resolve against the file's folder. */
export function resolveEventsConfig(raw: Record<string, unknown>, fileDir: string, where: string): EventsConfig {
  const webhooks = raw.webhooks === undefined ? [] : raw.webhooks;
  if (!Array.isArray(webhooks)) throw new EventsConfigError(`'webhooks' in ${where} must be a list`);
  const config: EventsConfig = {
    webhooks: webhooks.map((entry, i) => checked(WebhookSchema, entry, `webhooks[${i}]`, where)),
    events: checked(EventsSchema, raw.events ?? {}, 'events', where),
  };
  if (raw.mqtt !== undefined) config.mqtt = checked(MqttSchema, raw.mqtt, 'mqtt', where);
  if (raw.smtp !== undefined) config.smtp = checked(SmtpSchema, raw.smtp, 'smtp', where);
  const absolute = (file: string | undefined): string | undefined =>
    file === undefined ? undefined : path.resolve(fileDir, file);
  if (config.mqtt) {
    for (const key of ['passwordFile', 'caFile', 'certFile', 'keyFile'] as const) {
      if (config.mqtt[key] !== undefined) config.mqtt[key] = absolute(config.mqtt[key]);
    }
  }
  for (const hook of config.webhooks) if (hook.secretFile !== undefined) hook.secretFile = absolute(hook.secretFile);
  if (config.smtp?.passwordFile !== undefined) config.smtp.passwordFile = absolute(config.smtp.passwordFile);
  return config;
}

/** The defaults filled in, then the value checked; the first problem is the error. */
function checked<T extends TSchema>(schema: T, value: unknown, key: string, where: string): Static<T> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EventsConfigError(`'${key}' in ${where} must be an object`);
  }
  const filled = Value.Default(schema, structuredClone(value));
  const error = Value.Errors(schema, filled).First();
  if (error !== undefined) {
    const at = error.path === '' ? key : `${key}${error.path.replace(/\//g, '.')}`;
    const detail = error.schema.description ? ` (${error.schema.description})` : '';
    throw new EventsConfigError(`'${at}' in ${where}: ${error.message}, got ${JSON.stringify(error.value)}${detail}`);
  }
  return filled as Static<T>;
}
