"""A real headless browser for end-to-end tests: Debian's chromium driven by Playwright.

Playwright's own browser download does not work here (and is not needed): tests launch the
system chromium (``/usr/bin/chromium``, installed by ``scripts/ensure-chromium``) with the flags
a closed, screenless machine needs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def chromium_path() -> str | None:
    explicit = os.environ.get("BILLFOLD_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Start a headless chromium (Playwright gives it a fresh, empty profile); closed after."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium is not installed; scripts/ensure-chromium installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
