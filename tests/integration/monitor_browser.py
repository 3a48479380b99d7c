#!/usr/bin/env python3
# Opens the monitor's page in headless Chromium (driven through chromedriver's WebDriver HTTP
# API: standard library only) and reports what the page shows, twice, 1.5 s apart, as one
# JSON line on stdout; saves a screenshot.
#
#   monitor_browser.py URL SCREENSHOT.png
#
# Exit codes: 0 measured (the caller judges), 1 the browser or the page failed.

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PROBE = r"""
const c = document.getElementById('raster');
let hash = 0, ink = 0;
if (c) {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] !== 0) {
      ink++;
      hash = (hash * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + i) % 1000000007;
    }
  }
}
const a = document.getElementById('astro');
let astroInk = 0;
if (a && !a.hidden) {
  const d = a.getContext('2d').getImageData(0, 0, a.width, a.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) astroInk++;
}
const g = window.glia || {};
return {drawn: g.drawn || 0, messages: g.messages || 0, shown: (g.spikes || []).length,
        drawn_text: (document.getElementById('drawn') || {}).textContent || '',
        state: (document.getElementById('state') || {}).textContent || '',
        ink: ink, hash: hash, title: document.title,
        astro_hidden: a ? a.hidden : true, astro_ink: astroInk,
        astro_legend: (document.getElementById('astro-legend') || {}).textContent || '',
        reservoir: (document.getElementById('reservoir') || {}).textContent || '',
        resources: performance.getEntriesByType('resource').map(e => e.name)};
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode() or "{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode()[:500]}") from None


def main():
    url, shot = sys.argv[1], sys.argv[2]
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    port = free_port()
    profile = tempfile.mkdtemp(prefix="glia_chromium_")
    proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    session = None
    try:
        for _ in range(100):
            try:
                if call(base, "GET", "/status", timeout=2).get("ready"):
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        # The flags that work here as root (see the machine notes): no sandbox, no GPU, no
        # background networking (the network is closed), a fresh profile.
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,1400"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
        session = call(base, "POST", "/session", caps)["sessionId"]
        call(base, "POST", f"/session/{session}/url", {"url": url})

        def probe():
            return call(base, "POST", f"/session/{session}/execute/sync",
                        {"script": PROBE, "args": []})

        first = probe()
        deadline = time.time() + 20
        while first["messages"] < 2 and time.time() < deadline:
            time.sleep(0.2)
            first = probe()
        time.sleep(1.5)
        second = probe()
        png = base64.b64decode(call(base, "GET", f"/session/{session}/screenshot"))
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(png)
        print(json.dumps({"first": first, "second": second, "screenshot_bytes": len(png)}))
        return 0
    except Exception as e:  # reported to the test, which fails
        print(json.dumps({"error": str(e)}))
        return 1
    finally:
        if session is not None:
            try:
                call(base, "DELETE", f"/session/{session}", timeout=10)
            except Exception:
                pass
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
