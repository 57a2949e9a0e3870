// systemd's service notifications (sd_notify): READY=1 once the service watches its folders, then WATCHDOG=1
// keep-alives at half the unit's WatchdogSec while the event loop turns. Node has no AF_UNIX datagram sockets, and
// the npm packages for this are native addons (sd-notify links libsystemd, unix-dgram needs a node-gyp build), so the
// messages go through systemd's own `systemd-notify` tool; the unit sets NotifyAccess=all so that systemd accepts
// them from that child process (systemd-notify waits until systemd has read each message). A keep-alive costs one
// short process every WatchdogSec/2. Outside systemd (no NOTIFY_SOCKET) nothing is sent.
import { execFile } from 'node:child_process';
import type { Logger } from '../logger.js';

export class SystemdNotifier {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly socket = process.env.NOTIFY_SOCKET;

  constructor(private readonly logger: Logger) {}

  /** Under systemd with a notify socket? */
  get enabled(): boolean {
    return this.socket !== undefined && this.socket !== '';
  }

  /** Start-up done: READY=1, and keep-alives if the unit has a watchdog. */
  ready(): void {
    if (!this.enabled) return;
    this.send('READY=1', `STATUS=watching; pid ${process.pid}`);
    const usec = Number(process.env.WATCHDOG_USEC);
    const forPid = process.env.WATCHDOG_PID;
    if (!(usec > 0) || (forPid !== undefined && forPid !== '' && Number(forPid) !== process.pid)) return;
    const everyMs = Math.max(1000, Math.floor(usec / 1000 / 2));
    this.timer = setInterval(() => this.send('WATCHDOG=1'), everyMs);
    this.timer.unref();
    this.logger.info('systemd watchdog: sending keep-alives', { every_ms: everyMs });
  }

  stopping(): void {
    clearInterval(this.timer);
    if (this.enabled) this.send('STOPPING=1');
  }

  private send(...assignments: string[]): void {
    execFile('systemd-notify', assignments, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err && !this.failing) {
        this.logger.warn('cannot notify systemd (is systemd-notify installed and NotifyAccess=all set?)', {
          error: (stderr || err.message).trim(),
        });
      }
      this.failing = err !== null;
    });
  }
}
