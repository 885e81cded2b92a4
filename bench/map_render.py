"""Time to first map render in real headless Chromium: from navigation to (a) the map's layers being
set up (`body[data-ready]`) and (b) the first complete render (map loaded, every visible tile drawn).

Each run is a fresh browser context (cold cache), at 1920x1080, on the demo city. With `--compare REF`
the same runs alternate between a server of REF (a git worktree under bench/out/) and this tree, both
on the same database, so the ratio is measured side by side in one run:

    .venv/bin/python bench/map_render.py --compare 494c030 --runs 15

DATABASE_URL: a database with the demo city (`rtcc load-demo`); default the local cluster's `rtcc`.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import HEADERS, ROOT, _identity, free_port, pct

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_server(root: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    import httpx
    import os
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server in {root} did not start")


def ref_tree(ref: str) -> Path:
    """A worktree of REF beside this one (its npm packages are this tree's: same MapLibre)."""
    sha = subprocess.check_output(["git", "rev-parse", "--short", ref], cwd=ROOT, text=True).strip()
    path = ROOT / "bench" / "out" / f"ref-{sha}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.check_call(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT)
    nm = path / "web" / "node_modules"
    if not nm.exists():
        nm.symlink_to(ROOT / "web" / "node_modules")
    glyphs = path / ".local" / "glyphs"
    if not glyphs.exists() and (ROOT / ".local" / "glyphs").exists():
        glyphs.parent.mkdir(parents=True, exist_ok=True)
        glyphs.symlink_to(ROOT / ".local" / "glyphs")
    return path


def one_run(browser, url: str) -> tuple[float, float]:
    # Signed in with an API key made for the run (a tree from before sign-in ignores the header).
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080},
                              extra_http_headers={"Authorization": HEADERS["Authorization"]})
    page = ctx.new_page()
    try:
        page.goto(url + "/")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
        ready = page.evaluate("performance.now()")
        page.wait_for_function("window.rtccMap.loaded() && window.rtccMap.areTilesLoaded()", timeout=120_000, polling=50)
        drawn = page.evaluate("performance.now()")
        return ready, drawn
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--compare", metavar="REF", help="git ref to compare against (e.g. the commit before a change)")
    args = ap.parse_args()
    import os
    from services.settings import database_url
    db = os.environ.get("DATABASE_URL") or database_url()
    from services.settings import owner_database_url
    _identity(owner_database_url())  # an API key for the browser contexts (needs the owner's rights)
    from playwright.sync_api import sync_playwright
    trees = {"this tree": ROOT}
    if args.compare:
        trees = {args.compare: ref_tree(args.compare), "this tree": ROOT}
    servers = {name: start_server(path, db) for name, path in trees.items()}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, (_, url) in servers.items():
                one_run(browser, url)  # warm the servers (first tiles, pools), not the browser
            for i in range(args.runs):
                for name, (_, url) in servers.items():  # alternate: the machine's noise hits both alike
                    results[name].append(one_run(browser, url))
            browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=20)
    print(f"time to first map render, {args.runs} cold loads each, 1920x1080, ms (median / p90)")
    med = {}
    for name, rs in results.items():
        ready, drawn = [r[0] for r in rs], [r[1] for r in rs]
        med[name] = statistics.median(drawn)
        print(f"  {name:>12}: layers ready {statistics.median(ready):7.0f} / {pct(ready, 90):7.0f}   "
              f"first full render {statistics.median(drawn):7.0f} / {pct(drawn, 90):7.0f}")
    if args.compare:
        print(f"  ratio this tree / {args.compare} (first full render, median): {med['this tree'] / med[args.compare]:.2f} "
              f"(target: at most 1.10)")


if __name__ == "__main__":
    main()
