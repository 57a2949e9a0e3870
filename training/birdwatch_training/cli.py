"""What the training scripts share as command-line programs: the one-line usage error, the exit codes, yes/no flags."""
from __future__ import annotations

import argparse
import sys

from birdwatch_training import data


class UsageError(Exception):
    """A flag or combination of flags that cannot work (reported in one line, exit code 2)."""


def run_cli(entry, name: str, argv=None) -> int:
    """entry(argv) with the exit codes: 0 done, 2 bad data or usage (one line on stderr), 130 interrupted."""
    try:
        return entry(argv)
    except (data.DataError, UsageError) as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def yes_no(s: str) -> bool:
    if s.lower() in ("yes", "true", "1", "on"):
        return True
    if s.lower() in ("no", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {s!r}")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):  # no "(default: None)" noise
        return action.help if action.default is None else super()._get_help_string(action)
