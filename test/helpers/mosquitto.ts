// A real Mosquitto broker for the MQTT tests (Debian's /usr/sbin/mosquitto; `.ci/run` installs it), on a free
// loopback port with a small config file, and a subscriber that records every message it sees.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from './wait.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

export class Broker {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly folder: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until it accepts connections. */
  async start(): Promise<void> {
    const config = join(this.folder, 'mosquitto.conf');
    writeFileSync(
      config,
      `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\n` + 'log_dest stdout\n',
    );
    const child = (this.child = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout!.on('data', (c: Buffer) => {
      this.output += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      this.output += c.toString();
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.output}`);
        const probe = await mqtt.connectAsync(this.url, { reconnectPeriod: 0, connectTimeout: 1000 }).catch(() => null);
        await probe?.endAsync();
        return probe !== null;
      },
      15_000,
      () => `mosquitto on port ${this.port}: ${this.output}`,
      200,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }
}

let recorders = 0;

export interface Message {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A subscriber to everything ('#'), reconnecting (and resubscribing) when the broker comes back. */
export class Recorder {
  readonly messages: Message[] = [];
  private client: MqttClient | undefined;

  async connect(url: string): Promise<void> {
    this.client = await mqtt.connectAsync(url, {
      reconnectPeriod: 300,
      clientId: `recorder-${process.pid}-${++recorders}`,
    });
    this.client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
    await this.client.subscribeAsync('#', { qos: 1 });
  }

  on(topic: string): Message[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
