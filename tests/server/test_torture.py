#!/usr/bin/env python3
"""Short form of the crash torture (bench/torture/torture.py): clients write and
delete while cossd is SIGKILLed at random moments, six times; after each restart
every key must be a miss or carry its latest acknowledged value."""
import os
import subprocess
import sys
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "torture", "torture.py")


class Torture(unittest.TestCase):
    def test_sigkill_cycles_never_serve_stale_or_deleted_values(self):
        r = subprocess.run([sys.executable, SCRIPT, "--cossd", os.environ["COSSD"], "--cycles", "6",
                            "--keys", "150", "--max-run", "1.0"],
                           capture_output=True, text=True, timeout=280)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn(" 0 violations", r.stdout)
        self.assertIn("hits with the acknowledged value", r.stdout)


if __name__ == "__main__":
    unittest.main()
