// The web page's login limits: at most so many login attempts per key (a user name, an address) within a fixed
// window. An attempt is counted BEFORE its password is checked and given back when it succeeds, so only failures
// use up the limit and parallel guesses cannot get more than the limit's worth of passwords checked (counting
// after the slow scrypt check let hundreds through). @fastify/rate-limit counts too, but cannot give an attempt back.

export class LoginLimits {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly limits: Record<string, number>,
    private readonly windowMs: number,
  ) {}

  /**
   * Counts one attempt under each key (`kind:value`, where `limits[kind]` is that kind's limit). If any key has used
   * up its limit, nothing is counted and the answer is the milliseconds until that key's window ends; else 0.
   */
  take(keys: string[], now = Date.now()): number {
    if (this.windows.size > 10_000) {
      // many names tried: forget the windows that are over
      for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    }
    const current = keys.map((key) => {
      const window = this.windows.get(key);
      return window === undefined || window.endsAt <= now ? { count: 0, endsAt: now + this.windowMs } : window;
    });
    const waitMs = Math.max(
      0,
      ...current.map((window, i) => (window.count >= this.limit(keys[i]!) ? window.endsAt - now : 0)),
    );
    if (waitMs > 0) return waitMs;
    keys.forEach((key, i) => this.windows.set(key, { ...current[i]!, count: current[i]!.count + 1 }));
    return 0;
  }

  /** Gives back the attempts `take` counted under these keys (the login succeeded). */
  giveBack(keys: string[]): void {
    for (const key of keys) {
      const window = this.windows.get(key);
      if (window !== undefined && window.count > 0) window.count--;
    }
  }

  private limit(key: string): number {
    const limit = this.limits[key.slice(0, key.indexOf(':'))];
    if (limit === undefined) throw new Error(`no login limit for ${key}`);
    return limit;
  }
}
