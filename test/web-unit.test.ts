// The web page's systemd unit: systemd-analyze verifies it without a warning, it is sandboxed like the daemon's
// unit, and its exposure score is printed (as test/reliability-security.test.ts does for the daemon's).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/daemon.js';

describe('config/birdwatch-web.service', () => {
  const unit = join(REPO, 'config', 'birdwatch-web.service');
  const text = readFileSync(unit, 'utf8');
  const settings = (key: string): string[] =>
    [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

  it('passes systemd-analyze verify with no warning', () => {
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(verify.status, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`).toBe(0);
    expect(`${verify.stdout}${verify.stderr}`.trim(), 'warnings from verify').toBe('');
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const overall = `${sec.stdout}${sec.stderr}`.match(/Overall exposure level for \S+: ([\d.]+) (\S+)/);
    const score = overall ? `${overall[1]} ${overall[2]}` : '(no score)';
    console.log(`[figures] birdwatch-web.service systemd-analyze security --offline: ${score}`);
    expect(overall, sec.stdout + sec.stderr).not.toBeNull();
    expect(Number(overall![1])).toBeLessThanOrEqual(2);
  });

  it("runs birdwatch web with the daemon's config, sandboxed like it, writable only where restore/mark move", () => {
    expect(settings('ExecStart')).toEqual([
      '/usr/bin/node /opt/birdwatch/dist/cli.js web --config /etc/birdwatch/config.json',
    ]);
    const daemon = readFileSync(join(REPO, 'config', 'birdwatch.service'), 'utf8');
    // Every hardening line of the daemon's unit, except its network ban (the page must listen).
    const hardening = daemon
      .split('\n')
      .filter((line) =>
        /^(Protect|Restrict|Private|NoNewPrivileges|Capability|Ambient|Lock|SystemCall|DevicePolicy|RemoveIPC|ProcSubset|UMask)/.test(
          line,
        ),
      )
      .filter((line) => !/^(PrivateNetwork|RestrictAddressFamilies)=/.test(line));
    for (const line of hardening) expect(text.split('\n'), line).toContain(line);
    expect(settings('PrivateNetwork')).toEqual([]);
    expect(settings('RestrictAddressFamilies')).toEqual(['AF_UNIX AF_INET AF_INET6']);
    expect(settings('IPAddressAllow')).toEqual(['localhost']);
    // The same folders as the daemon's: the camera and airplanes folders, nothing else.
    const daemonPaths = [...daemon.matchAll(/^ReadWritePaths=(.*)$/gm)].map((m) => m[1]);
    expect(settings('ReadWritePaths')).toEqual(daemonPaths);
    expect(text).not.toMatch(/^\s*MemoryDenyWriteExecute\s*=\s*(yes|true|1)/m);
  });
});
