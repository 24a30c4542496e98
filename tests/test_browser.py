"""End to end in a real browser: JupyterLab runs the demo notebook and headless Chromium plays the timelapse.

nbval executes kernels but no JavaScript. Here JupyterLab (from this venv, on 127.0.0.1, a random port,
a token, a temporary root dir, no network) serves a copy of ``tests/browser_demo.ipynb``; Debian's
``/usr/bin/chromium``, driven by Playwright, runs all cells through the Run menu, waits for the
``TimelapsePlayer`` of two synthetic runs, presses Play and checks what a learner sees:

* the slider advances, the label follows, and both side-by-side images change while playing;
* after Pause, slider, label and BOTH images show the same snapshot: the PNG bytes behind each image
  (read back from the browser's blob URL, SHA-256) are those of that step of that run, as a reference
  player built in this process from the same run records renders them.

Screenshots go to ``out/browser_player_before.png`` and ``out/browser_player_playing.png``. JupyterLab
and its kernels are shut down through the REST API and then by process group, also when the test
fails; the test then asserts that no process started by it is left (found by an env marker).

Skipped without ``/usr/bin/chromium`` (``.ci/run`` installs it with apt) or without the ``playwright``
package. A browser is never downloaded. ``VAEGAN_BROWSER_NOTEBOOK`` swaps in another notebook (to show
that a broken player fails this test); ``VAEGAN_CHROMIUM`` another Chromium binary.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
OUT = ROOT / "out"
DEMO = Path(os.environ.get("VAEGAN_BROWSER_NOTEBOOK", TESTS / "browser_demo.ipynb"))
CHROMIUM = Path(os.environ.get("VAEGAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    # No name resolves except the server's address: nothing leaves this machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PLAYER = ".vaegan-test-player"  # CSS classes that the demo notebook adds to the player's parts
PANELS = (".vaegan-test-panel-0", ".vaegan-test-panel-1")
SERVER_START_S = 60
RENDER_S = 60


def _require_browser():
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium; "
                    ".ci/run does); this test never downloads a browser")
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the playwright package is missing ({e}): pip install -e '.[dev]'")


# --- JupyterLab, and every process it starts -------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marked_processes(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of live processes whose environment carries ``marker``: the server, its kernels."""
    needle = f"VAEGAN_BROWSER_MARKER={marker}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append((int(pid), cmd.strip()))
        except OSError:  # gone meanwhile, or not ours to read
            pass
    return found


class Lab:
    def __init__(self, port: int, token: str, log: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.token = token
        self.log = log

    def api(self, method: str, path: str, timeout: float = 10, body: dict | None = None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def jupyter_lab(tmp: Path, marker: str):
    """JupyterLab on 127.0.0.1 serving ``tmp / 'root'``; on exit its kernels and itself are gone."""
    root, home = tmp / "root", tmp / "home"
    for d in (root, home / "config", home / "data", home / "runtime", home / "ipython",
              home / "settings", home / "workspaces"):
        d.mkdir(parents=True, exist_ok=True)
    # No news, no update check, no toasts over the player (the server side is off as well, below).
    path = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               JUPYTER_PLATFORM_DIRS="1", VAEGAN_TESTS_DIR=str(TESTS), VAEGAN_BROWSER_MARKER=marker,
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}", "--KernelManager.shutdown_wait_time=3"]
    if os.geteuid() == 0:  # CI runs as root
        cmd.append("--allow-root")
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(port, token, log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited with {proc.returncode} at start:\n{lab.log_tail()}")
            try:
                lab.api("GET", "/api/status", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"JupyterLab did not answer within {SERVER_START_S} s:\n"
                                         f"{lab.log_tail()}") from None
                time.sleep(0.25)
        yield lab
    finally:
        _shut_down(lab, proc)


def _shut_down(lab: Lab, proc: subprocess.Popen) -> None:
    with contextlib.suppress(Exception):  # kernels first, politely, while the server still answers
        for k in lab.api("GET", "/api/kernels", timeout=5):
            with contextlib.suppress(Exception):
                lab.api("DELETE", f"/api/kernels/{k['id']}", timeout=10)
    with contextlib.suppress(Exception):
        lab.api("POST", "/api/shutdown", timeout=5)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for sig, wait_s in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


# --- the page --------------------------------------------------------------------------------------

# One consistent reading of the player: slider handle, label text, and the blob URL of each panel.
READ_STATE = """([panels]) => {
    const handle = document.querySelector('.vaegan-test-slider .noUi-handle');
    const label = document.querySelector('.vaegan-test-label');
    return {
        t: performance.now(),
        slider: handle ? handle.getAttribute('aria-valuenow') : null,
        label: label ? label.textContent : null,
        srcs: panels.map(s => { const el = document.querySelector(s); return el ? el.src : null; }),
    };
}"""

# Record every change inside the player from now on, in the browser's own time.
START_LOG = """([sel, panels]) => {
    const read = () => (READ_STATE)([panels]);
    window.__vaeganLog = [read()];
    window.__vaeganObs = new MutationObserver(() => window.__vaeganLog.push(read()));
    window.__vaeganObs.observe(document.querySelector(sel),
                               {subtree: true, attributes: true, childList: true, characterData: true});
}""".replace("READ_STATE", READ_STATE)

# SHA-256 of the PNG bytes behind each panel's blob URL (127.0.0.1 is a secure context).
PANEL_HASHES = """async (panels) => {
    const out = [];
    for (const s of panels) {
        const buf = await (await fetch(document.querySelector(s).src)).arrayBuffer();
        const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
        out.push(Array.from(d, b => b.toString(16).padStart(2, '0')).join(''));
    }
    return out;
}"""

LABEL_RE = re.compile(r"step (\d+)\s*\((\d+)/(\d+)\)")


def _label_index(label: str | None) -> tuple[int, int] | None:
    """(step, snapshot index) from the player's label text, None when it shows neither."""
    m = LABEL_RE.search(label or "")
    return (int(m.group(1)), int(m.group(2)) - 1) if m else None


def _reference(notebook: Path):
    """The demo's run records, rebuilt in this process, and a reference player over them."""
    from vaegan_nb.widgets import TimelapsePlayer

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "browser-test-runs" in c.metadata.get("tags", [])]
    assert cells, f"{notebook} has no cell tagged 'browser-test-runs' (the one that makes the run records)"
    ns: dict = {}
    exec(compile(cells[0].source, f"{notebook.name}[runs]", "exec"), ns)  # noqa: S102
    return ns, TimelapsePlayer([ns["run_a"], ns["run_b"]], scale=ns.get("SCALE", 2))


def _expected(ref, k: int) -> tuple[list[str], str]:
    ref.show(k)
    return [hashlib.sha256(im.value).hexdigest() for im in ref.images], ref.describe(k)


def _settle(page, timeout_s: float = 10.0, quiet_s: float = 1.0) -> dict:
    """The player's state once nothing has changed for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        s = page.evaluate(READ_STATE, [list(PANELS)])
        key = (s["slider"], s["label"], tuple(s["srcs"]))
        if key != last:
            last, since = key, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return s
        time.sleep(0.1)
    raise AssertionError(f"the player kept changing for {timeout_s} s after Pause (last state {last})")


def _check_in_sync(page, ref, when: str) -> int:
    """Slider, label and both images show the same snapshot; returns its index."""
    s = _settle(page)
    n = len(ref.steps)
    parsed = _label_index(s["label"])
    assert parsed is not None, f"{when}: the label shows no 'step N (k/{n})': {s['label']!r}"
    step, k = parsed
    assert s["slider"] is not None and round(float(s["slider"])) == k, (
        f"{when}: the slider is at snapshot {s['slider']} but the label shows snapshot {k} (step {step}): "
        "the label does not follow the slider")
    want, _ = _expected(ref, k)
    got = page.evaluate(PANEL_HASHES, list(PANELS))
    names = ["run_a (left)", "run_b (right)"]
    stale = [names[i] for i in range(2) if got[i] != want[i]]
    if stale:
        shown = {}
        for j in range(n):  # which snapshot do the stale panels show, if any?
            for i, h in enumerate(_expected(ref, j)[0]):
                shown.setdefault((i, h), j)
        detail = ", ".join(f"{names[i]} shows snapshot {shown.get((i, got[i]), '?')}" for i in range(2))
        raise AssertionError(f"{when}: slider and label are at snapshot {k} (step {step}) but the side-by-side "
                             f"panels are out of step: {detail}")
    return k


def test_timelapse_plays_in_jupyterlab(tmp_path, monkeypatch):
    _require_browser()
    from playwright.sync_api import TimeoutError as PwTimeout
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    OUT.mkdir(exist_ok=True)
    (OUT / "browser_player_failed.png").unlink(missing_ok=True)
    monkeypatch.setenv("VAEGAN_TESTS_DIR", str(TESTS))  # for the notebook's cell run in this process
    monkeypatch.setattr(sys, "path", list(sys.path))
    marker = uuid.uuid4().hex
    ns, ref = _reference(DEMO)
    try:
        with jupyter_lab(tmp_path, marker) as lab:
            shutil.copy(DEMO, tmp_path / "root" / "browser_demo.ipynb")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    try:
                        _drive(page, lab, ref, errors, PwTimeout)
                    except AssertionError:
                        if not (OUT / "browser_player_failed.png").exists():
                            page.screenshot(path=OUT / "browser_player_failed.png")
                        raise
                finally:
                    browser.close()
            kernels = lab.api("GET", "/api/kernels")
            assert len(kernels) == 1, f"expected the demo's one kernel, found {kernels}"
    finally:
        ns["_runs_dir"].cleanup()
        left = _marked_processes(marker)  # also when the test failed: nothing of it may outlive it
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of this test outlived JupyterLab's shutdown (now killed): {left}"
    print(f"browser test wall time {time.monotonic() - t0:.1f} s")


def _wait_for_kernel(lab: Lab, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    kernels: list = []
    while time.monotonic() < deadline:
        kernels = lab.api("GET", "/api/kernels")
        if any(k.get("connections", 0) >= 1 and k.get("execution_state") == "idle" for k in kernels):
            return
        time.sleep(0.25)
    raise AssertionError(f"no connected idle kernel after {timeout_s} s: {kernels}\n{lab.log_tail()}")


def _drive(page, lab: Lab, ref, errors: list[str], PwTimeout) -> None:
    page.goto(f"{lab.url}/lab/tree/browser_demo.ipynb?reset&token={lab.token}", wait_until="load")
    try:
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=RENDER_S * 1000)
        # Run All before the page has its kernel opens a "Select Kernel" dialog, and the toolbar reads
        # "idle" already before the kernel exists: ask the server for a connected, idle kernel.
        _wait_for_kernel(lab, RENDER_S)
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=RENDER_S * 1000)
        # Run > Run All Cells, as a learner would.
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_selector(f"{PLAYER} {PANELS[1]}", state="visible", timeout=RENDER_S * 1000)
        page.wait_for_function("(panels) => panels.every(s => document.querySelector(s).src.startsWith('blob:'))",
                               arg=list(PANELS), timeout=RENDER_S * 1000)
    except PwTimeout as e:
        page.screenshot(path=OUT / "browser_player_failed.png")
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        raise AssertionError(
            f"the timelapse player did not render within {RENDER_S} s ({e.message.splitlines()[0]}). "
            f"Cell outputs: {[o[:500] for o in outputs]}; page errors: {errors}; "
            f"screenshot out/browser_player_failed.png; JupyterLab log:\n{lab.log_tail()}") from None

    player = page.locator(PLAYER)
    player.scroll_into_view_if_needed()
    k0 = _check_in_sync(page, ref, "before Play")
    assert k0 == 0, f"the player opened at snapshot {k0}, not the first"
    page.screenshot(path=OUT / "browser_player_before.png")

    page.evaluate(START_LOG, [PLAYER, list(PANELS)])
    page.locator(".vaegan-test-play button:has(i.fa-play)").click()
    page.wait_for_timeout(1500)
    page.screenshot(path=OUT / "browser_player_playing.png")
    page.wait_for_timeout(1500)
    page.locator(".vaegan-test-play button:has(i.fa-pause)").click()
    log = page.evaluate("() => { window.__vaeganObs.disconnect(); return window.__vaeganLog; }")

    sliders = {e["slider"] for e in log}
    labels = [e["label"] for e in log]
    steps_seen = {p[0] for p in map(_label_index, labels) if p}
    srcs = [{e["srcs"][i] for e in log} for i in range(2)]
    assert len(sliders) >= 3, f"Play did not advance the slider in 3 s (values seen: {sorted(sliders)})"
    assert len(steps_seen) >= 3, (
        f"the slider moved through {len(sliders)} positions in 3 s of Play but the label showed only steps "
        f"{sorted(steps_seen)}: the kernel does not answer the slider")
    for i, name in enumerate(("left (run_a)", "right (run_b)")):
        assert len(srcs[i]) >= 3, (f"the {name} image changed {len(srcs[i]) - 1} times in 3 s of Play while the "
                                   f"label showed steps {sorted(steps_seen)}")
    # Side by side in step while playing: each panel got one new image per label change (within one).
    changes = [len(srcs[0]) - 1, len(srcs[1]) - 1, len(set(labels)) - 1]
    assert max(changes) - min(changes) <= 1, (
        f"while playing the left image changed {changes[0]} times, the right {changes[1]}, the label "
        f"{changes[2]}: the side-by-side panels are out of step")
    _check_in_sync(page, ref, "after Pause")
    assert not errors, f"JavaScript errors on the page: {errors}"
