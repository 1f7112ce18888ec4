"""What the browser tests share: Debian's headless chromium, the app on a real port of
127.0.0.1, waiting, screenshots (test artifacts under var/test-artifacts/) and widths."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
WIDE, NARROW = 1280, 400


def chromium() -> WebDriver:
    """Headless chromium driven through chromedriver; fails (never skips) when missing."""
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver_path, "run `make browser` (Debian chromium + chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WIDE},900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def set_width(driver: WebDriver, width: int) -> None:
    """Lay pages out as on a screen ``width`` CSS pixels wide (a phone at 400)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 700},
    )


def scrolls_sideways(driver: WebDriver) -> bool:
    """Whether the page is wider than the window (the user would scroll sideways)."""
    return bool(
        driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
    )


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the whole page as ``var/test-artifacts/browser/NAME.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": min(height, 4000),
            "deviceScaleFactor": 1,
            "mobile": width < 700,
        },
    )
    driver.save_screenshot(str(path))
    set_width(driver, width)
    return path


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a free port of 127.0.0.1; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(condition: Callable[[], Any], seconds: float = 20) -> Any:
    """Poll until ``condition`` is truthy; return its value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def log_in(driver: WebDriver, base: str, key: str, path: str = "/ui/groups") -> None:
    """Open ``path`` with a fresh tab session and log in with ``key``."""
    driver.get(base + path)
    driver.execute_script("sessionStorage.clear()")
    driver.get(base + path)
    driver.find_element("id", "api-key").send_keys(key)
    driver.find_element("css selector", "#connect button").click()


def severe_console_errors(driver: WebDriver) -> list[str]:
    """Errors the page's code raised or the browser's policies (CSP) refused; an API answer
    of 4xx that the page handles (a 409 "no role model loaded") is not one."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and e.get("source") != "network"
    ]
