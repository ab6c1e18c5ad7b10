"""A real headless browser for the tests of HTML reports: Debian's chromium, driven through its
chromedriver by Selenium, with nothing downloaded (Selenium Manager is kept offline).

- :func:`start_browser` starts it (a missing browser fails the test, never skips it);
  ``CHROMIUM`` and ``CHROMEDRIVER`` name other binaries than Debian's.
- :func:`requests_made` reads the URLs the browser asked for (its DevTools network log).
- :func:`read_png` decodes a screenshot into rows of ``(r, g, b)``.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
WINDOW = (1200, 900)
Pixel = tuple[int, int, int]


@contextmanager
def start_browser() -> Iterator[Any]:
    """A headless chromium (a Selenium ``WebDriver``) until the block ends."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"the HTML report tests need a headless browser: {', '.join(missing)} not found; "
            "install Debian's chromium and chromium-driver (apt-get install chromium "
            "chromium-driver), or name the binaries in CHROMIUM and CHROMEDRIVER",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests may run as root (CI containers)
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",  # screenshots in the page's own colours
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, path: Path) -> None:
    """Load ``path``, with the logs of what came before it cleared."""
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())


def requests_made(driver: Any) -> list[str]:
    """The URLs the browser has asked for since the logs were last read, in order."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def read_png(data: bytes) -> list[list[Pixel]]:
    """The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, list[bytes]] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        chunks.setdefault(kind, []).append(data[at + 8 : at + 8 + length])
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, interlace) == (8, 0), "an unexpected PNG format"
    assert colour in (2, 6), "an unexpected PNG format"
    size = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * size
    rows: list[list[Pixel]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        _unfilter(kind, line, previous, size)
        rows.append([(line[x], line[x + 1], line[x + 2]) for x in range(0, stride, size)])
        previous = line
    return rows


def _unfilter(kind: int, line: bytearray, previous: bytearray, size: int) -> None:
    for i in range(len(line)):
        left = line[i - size] if i >= size else 0
        up = previous[i]
        corner = previous[i - size] if i >= size else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
