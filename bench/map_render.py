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
from contextlib import ExitStack
from pathlib import Path

from _common import HEADERS, ROOT, pct, server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def one_run(browser, url: str, log: list | None = None) -> tuple[float, float]:
    # Signed in with an API key made for the run (a tree from before sign-in ignores the header).
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True,  # playwright evaluates strings
                              extra_http_headers={"Authorization": HEADERS["Authorization"]})
    page = ctx.new_page()
    if log is not None:  # (url, ms from navigation start to its response's end) of every request
        page.on("requestfinished", lambda r: log.append((r.url, r.timing.get("responseEnd", -1),
                                                         r.timing.get("startTime", 0))))
    try:
        page.goto(url + "/")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
        ready = page.evaluate("performance.now()")
        page.wait_for_function("window.rtccMap.loaded() && window.rtccMap.areTilesLoaded()", timeout=120_000, polling=50)
        drawn = page.evaluate("performance.now()")
        return ready, drawn
    finally:
        ctx.close()


def trace_run(browser, url: str) -> None:
    """One cold load, printing every 500 ms what the map waits for: style loaded, tiles loaded,
    frames drawn in the interval (where a slow first render spends its time)."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True,
                              extra_http_headers={"Authorization": HEADERS["Authorization"]})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
    cdp.send("Profiler.start")
    try:
        page.goto(url + "/")
        page.wait_for_function("window.rtccMap", timeout=120_000)
        page.evaluate("window.__frames = 0; window.rtccMap.on('render', () => window.__frames++)")
        for _ in range(60):
            st = page.evaluate("""() => { const m = window.rtccMap, f = window.__frames; window.__frames = 0;
                const pending = Object.entries(m.style.sourceCaches || m.style.tileManagers || {})
                  .filter(([, c]) => !c.loaded()).map(([k]) => k);
                return [performance.now(), m.isStyleLoaded(), m.areTilesLoaded(), m.loaded(), f, pending.join(',')]; }""")
            print(f"  {st[0]:7.0f} ms  style {st[1]!s:5} tiles {st[2]!s:5} loaded {st[3]!s:5} frames {st[4]:3}  {st[5][:100]}")
            if st[3] and st[2]:
                break
            page.wait_for_timeout(500)
        prof = cdp.send("Profiler.stop")["profile"]
        self_ms: dict[str, float] = {}
        counts: dict[int, float] = {}
        for sid, d in zip(prof["samples"], prof["timeDeltas"]):
            counts[sid] = counts.get(sid, 0) + d / 1000
        for n in prof["nodes"]:
            cf = n["callFrame"]
            key = f"{cf['functionName'] or '(anon)'} {cf['url'].rsplit('/', 1)[-1]}:{cf['lineNumber']}"
            self_ms[key] = self_ms.get(key, 0) + counts.get(n["id"], 0)
        print("  main thread, self time (ms):")
        for k, v in sorted(self_ms.items(), key=lambda x: -x[1])[:15]:
            print(f"    {v:8.0f}  {k[:120]}")
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--compare", metavar="REF", help="git ref to compare against (e.g. the commit before a change)")
    ap.add_argument("--requests", type=int, default=0, metavar="N",
                    help="after the runs, one more load per tree listing its N slowest requests (where time goes)")
    ap.add_argument("--trace", action="store_true", help="after the runs, one more load per tree traced every 500 ms")
    args = ap.parse_args()
    import os
    from services.settings import database_url
    db = os.environ.get("DATABASE_URL") or database_url()
    from playwright.sync_api import sync_playwright
    trees = {"this tree": ROOT}
    if args.compare:
        trees = {args.compare: ref_tree(args.compare), "this tree": ROOT}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(server(db, root=path)) for name, path in trees.items()}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, url in servers.items():
                one_run(browser, url)  # warm the servers (first tiles, pools), not the browser
            for i in range(args.runs):
                for name, url in servers.items():  # alternate: the machine's noise hits both alike
                    results[name].append(one_run(browser, url))
            for name, url in servers.items():
                if args.trace:
                    print(f"{name}: trace of one cold load")
                    trace_run(browser, url)
                if args.requests:
                    log: list = []
                    one_run(browser, url, log)
                    t0 = min(x[2] for x in log)
                    print(f"{name}: {len(log)} requests; the last {args.requests} to finish "
                          f"(ms from navigation: finished, took):")
                    for u, took, start in sorted(sorted(log, key=lambda x: -(x[2] + x[1]))[:args.requests],
                                                 key=lambda x: x[2]):
                        print(f"  {start + took - t0:8.0f} {took:7.0f}  {u.replace(url, '')[:140]}")
            browser.close()
    print(f"time to first map render, {args.runs} cold loads each, 1920x1080, ms (median / p90)")
    med = {}
    for name, rs in results.items():
        if not rs:
            continue
        ready, drawn = [r[0] for r in rs], [r[1] for r in rs]
        med[name] = statistics.median(drawn)
        print(f"  {name:>12}: layers ready {statistics.median(ready):7.0f} / {pct(ready, 90):7.0f}   "
              f"first full render {statistics.median(drawn):7.0f} / {pct(drawn, 90):7.0f}")
    if args.compare and args.runs:
        print(f"  ratio this tree / {args.compare} (first full render, median): {med['this tree'] / med[args.compare]:.2f} "
              f"(target: at most 1.10)")


if __name__ == "__main__":
    main()
