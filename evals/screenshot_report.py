"""Render an eval report in headless Chromium and save a PNG, to see what a person sees.

    python evals/screenshot_report.py evals/runs/<run>/report.html report.png

Needs Debian's chromium (`apt-get install chromium fonts-wqy-zenhei`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 1800) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found: apt-get install chromium fonts-wqy-zenhei")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png.resolve()}", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    if not png.exists() or png.stat().st_size == 0:
        sys.exit(f"no screenshot written for {html}")
    return png


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(screenshot(Path(sys.argv[1]), Path(sys.argv[2])))
