// Debian's chromium driven by playwright-core (no browser download), headless; as root it needs --no-sandbox.
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}
