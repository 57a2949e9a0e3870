// Who a correction made from the command line is recorded as: the login behind sudo (SUDO_USER), else the OS
// user running the command; null when the system cannot say. The web page records its member's name instead.
import os from 'node:os';

export function cliMember(): string | null {
  const sudo = process.env.SUDO_USER;
  if (sudo) return sudo;
  try {
    return os.userInfo().username || null;
  } catch {
    return null; // a uid without a passwd entry (some containers)
  }
}
