#!/usr/bin/env python3
"""Mutation testing: plants each bug of tools/mutate/mutations.py, one at a time, in a scratch
copy of the working tree (build/mutate/src; the tree itself is never written), rebuilds that copy
incrementally (FUSEDNET_CUDA=OFF, build/mutate/build), runs the mutation's tests (-x, a timeout
per mutation) and prints the score per area. A mutation is caught when its tests fail (or time
out, or crash); one that does not compile or whose snippet is gone is reported apart (fix the
list). Runs on demand, not in CI; it is CPU heavy, run it niced:

    python3 tools/mutate/run.py                 # every mutation
    python3 tools/mutate/run.py -k shuffle      # those whose id or area contains "shuffle"
    python3 tools/mutate/run.py --check         # only check that every snippet is there, once
    python3 tools/mutate/run.py --list
    # side by side: the C++ list in two copies, the Python mutations on build/dev's module
    python3 tools/mutate/run.py -k kernels -k net -k bind --shard 0/2 &
    python3 tools/mutate/run.py -k kernels -k net -k bind --shard 1/2 --scratch build/mutate-b &
    python3 tools/mutate/run.py --prebuilt build/dev/_core*.so --scratch build/mutate-py

Exit status: 0 when every selected mutation was caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import M  # noqa: E402


def tree_files():
    """The working tree's files as git sees them: tracked and untracked-but-not-ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    return [f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]


def tree_digest(files):
    """A hash of the tree's files (names and contents): the run must leave it as it found it."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.encode() + b"\0" + (ROOT / f).read_bytes())
    return h.hexdigest()


def sync(files, src):
    """Copies the files that differ into the scratch copy with a fresh mtime (so the build sees
    them); identical files keep theirs, so the build stays incremental."""
    for f in files:
        a, b = ROOT / f, src / f
        if b.is_file() and b.read_bytes() == a.read_bytes():
            continue
        b.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a, b)
    for d in (src / "python", src / "tests"):
        for cache in d.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


def check_snippets(muts, base):
    bad = []
    ids = [m["id"] for m in M]
    dup = {i for i in ids if ids.count(i) > 1}
    for m in muts:
        path = base / m["file"]
        text = path.read_text() if path.is_file() else ""
        n = text.count(m["old"])
        if m["id"] in dup:
            bad.append(f"{m['id']}: duplicate id")
        if n != 1:
            bad.append(f"{m['id']}: snippet found {n} times in {m['file']}")
        if m["old"] == m["new"]:
            bad.append(f"{m['id']}: replacement equals the original")
    return bad


def run(cmd, cwd, env, timeout, log):
    """(status, seconds): status 'ok', 'fail' or 'timeout'; output appended to log."""
    t0 = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        p = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the process group this call started
            p.wait()
            return "timeout", time.monotonic() - t0, None
        except BaseException:  # interrupted: take the build or the tests down too
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
    return ("ok" if rc == 0 else "fail"), time.monotonic() - t0, rc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-k", action="append", default=[], help="select by substring of id or area")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--check", action="store_true", help="check the snippets and exit")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per mutation's tests")
    ap.add_argument("--build-timeout", type=float, default=1800, help="seconds per rebuild")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", "2")))
    ap.add_argument("--scratch", default=str(ROOT / "build" / "mutate"))
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--shard", help="K/N: this run's share of the files (another --scratch each)")
    ap.add_argument(
        "--prebuilt",
        metavar="SO",
        help="the Python mutations only, on this unmutated _core (e.g. build/dev's): no builds, "
        "so it can run beside a C++ run (give it another --scratch)",
    )
    args = ap.parse_args()

    muts = [m for m in M if not args.k or any(k in m["id"] or k == m["area"] for k in args.k)]
    if args.prebuilt:
        muts = [m for m in muts if m["file"].endswith(".py")]
    if args.shard:  # K/N: files dealt out (largest groups first) so N runs share the work
        k, n = (int(v) for v in args.shard.split("/"))
        groups = defaultdict(list)
        for m in muts:
            groups[m["file"]].append(m)
        load, mine = [0] * n, set()
        for f in sorted(groups, key=lambda f: (-len(groups[f]), f)):
            s = load.index(min(load))
            load[s] += len(groups[f]) + 1  # + 1: the rebuild that restores the file
            if s == k:
                mine.add(f)
        muts = [m for m in muts if m["file"] in mine]
    if args.list:
        for m in muts:
            print(f"{m['id']:28} {m['area']:8} {m['file']}: {m['why']}")
        return 0
    bad = check_snippets(muts, ROOT)
    if bad or args.check:
        print("\n".join(bad) or f"{len(muts)} mutations, every snippet found once")
        return 1 if bad else 0

    os.nice(10)
    # SIGTERM as Ctrl-C: the scratch file is restored on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    scratch = Path(args.scratch).resolve()  # the steps run from inside the scratch copy
    src, build = scratch / "src", scratch / "build"
    log = scratch / "log.txt"
    scratch.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    files = tree_files()
    before = tree_digest(files)
    sync(files, src)
    env = dict(os.environ, PYTHONPATH=str(src / "python"), PYTHONDONTWRITEBYTECODE="1")
    py = sys.executable
    cmake = [
        "cmake", "-S", str(src), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
        "-DFUSEDNET_CUDA=OFF", f"-DPython_EXECUTABLE={py}",
        # No link-time optimisation (pybind11's default): a relink would recompile everything.
        "-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF",
        "-Dpybind11_DIR=" + subprocess.run(
            [py, "-m", "pybind11", "--cmakedir"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    ]  # fmt: skip
    ninja = ["ninja", "-C", str(build), "-j", str(args.jobs), "_core"]

    def build_module():
        status, secs, _ = (
            ("ok", 0.0, 0) if args.prebuilt else run(ninja, src, env, args.build_timeout, log)
        )
        if status == "ok":
            for so in [Path(args.prebuilt).resolve()] if args.prebuilt else build.glob("_core*.so"):
                link = src / "python" / "fusednet" / so.name
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(so)
        return status, secs

    def pytest(tests, timeout):
        cmd = [py, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        start = log.stat().st_size
        status, secs, rc = run(cmd, src, env, timeout, log)
        with open(log, "rb") as f:  # the test that caught it: pytest's first FAILED line
            f.seek(start)
            failed = [ln for ln in f.read().decode(errors="replace").splitlines()
                      if ln.startswith("FAILED ")]  # fmt: skip
        return status, secs, rc, failed[0][7:].split(" - ")[0] if failed else ""

    print(f"scratch copy {src}, log {log}", flush=True)
    configured = args.prebuilt or run(cmake, src, env, args.build_timeout, log)[0] == "ok"
    if not configured or build_module()[0] != "ok":
        print("the unmutated tree does not build: see the log")
        return 1
    if not args.no_baseline:
        tests = sorted({t for m in muts for t in m["tests"] if t.startswith("tests/")})
        status, secs, _, _ = pytest(tests, args.timeout * 3)
        print(f"baseline ({len(tests)} test files): {status} in {secs:.0f} s", flush=True)
        if status != "ok":
            print("the unmutated tree fails its tests: see the log")
            return 1

    results = []  # (mutation, outcome, seconds)
    # Grouped by file (stable): a file is restored and rebuilt once per group, not per mutation.
    order = sorted(range(len(muts)), key=lambda i: [m["file"] for m in muts].index(muts[i]["file"]))
    try:
        for n, i in enumerate(order, 1):
            m = muts[i]
            path = src / m["file"]
            original = path.read_text()
            t0 = time.monotonic()
            detail = ""
            try:
                if original.count(m["old"]) != 1:
                    outcome = "stale"
                else:
                    path.write_text(original.replace(m["old"], m["new"], 1))
                    is_cpp = not m["file"].endswith(".py")
                    b = build_module() if is_cpp else ("ok", 0.0)
                    if b[0] != "ok":
                        outcome = "no-build"
                    else:
                        status, _, rc, by = pytest(m["tests"], args.timeout)
                        if status == "timeout":
                            outcome = "caught (timeout)"
                        elif status == "ok":
                            outcome = "SURVIVED"
                        elif rc in (2, 3, 4, 5):  # usage error, no tests: not a verdict
                            outcome = f"error (pytest {rc})"
                        else:
                            outcome = "caught" if rc == 1 else f"caught (exit {rc})"
                            detail = by
            finally:
                path.write_text(original)
            secs = time.monotonic() - t0
            results.append((m, outcome, secs))
            print(f"[{n}/{len(muts)}] {m['id']:28} {m['area']:8} {outcome:18} {secs:5.0f} s "
                  f"{detail}", flush=True)  # fmt: skip
    finally:
        # The copy is the tree again (restored files are rebuilt by the next run), and the tree
        # was never touched.
        sync(files, src)
    # The run writes only the scratch copy: a change here was made by someone else meanwhile, and
    # the mutations ran on the tree as it was at the start.
    changed = tree_digest(files) != before

    by_area = defaultdict(lambda: [0, 0])
    for m, outcome, _ in results:
        if outcome in ("stale", "no-build") or outcome.startswith("error"):
            continue
        by_area[m["area"]][1] += 1
        by_area[m["area"]][0] += outcome.startswith("caught")
    print("\nscore per area (caught / valid mutations):")
    for area, (c, t) in sorted(by_area.items()):
        print(f"  {area:8} {c:3d} / {t:3d}  {100.0 * c / t:5.1f}%")
    caught = sum(c for c, _ in by_area.values())
    total = sum(t for _, t in by_area.values())
    print(f"  {'total':8} {caught:3d} / {total:3d}  {100.0 * caught / max(total, 1):5.1f}%")
    others = [(m, o) for m, o, _ in results if not o.startswith("caught")]
    for m, o in others:
        print(f"{o}: {m['id']} ({m['file']}): {m['why']}")
    if changed:
        print("note: the working tree changed during the run (edited meanwhile)", file=sys.stderr)
    return 0 if not others else 1


if __name__ == "__main__":
    sys.exit(main())
