"""N simulated learners playing a lab over SSH against one local `serve ssh` server.

    python benchmarks/bench_serve.py --json [--learners 1,2,4] [--seconds 20] [--lab gan-2d]

For each N, a server runs in its own process (``--server`` mode of this file: the
classroom of ``tutor.serve`` with its real settings, except that each session opens
straight into the lab, ``python -m tutor lab LAB``). N asyncssh clients connect at 80x24,
wait for the lab, press Space (play) and record, for ``--seconds``:

* **fps**: frames per second reaching the client. A frame is a burst of output; bursts
  are separated by at least 20 ms of silence (the labs send at most 12 frames/s).
* **bytes/s** on the wire (the terminal bytes, before SSH's encryption).

Then each pauses (Space) and presses the lab's "]" key (select the next knob) 10 times,
spaced 0.3-0.6 s: **key latency** is from the write to the first byte of the redraw
(a paused lab sends nothing else), so it includes SSH, the pty and the app.

The server's CPU (its own process and all tutors, from /proc, as a share of one core)
and memory (sum of resident sizes) are sampled over the playing window. The report says
which N kept every learner at >= 8 fps with key latency p95 <= 100 ms. Timings depend
on the machine's load; say how loaded it was when you quote them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

GAP = 0.020  # silence that separates two frames
TICK = os.sysconf("SC_CLK_TCK")


def run_server(port: int, data: Path, lab: str, sessions: int) -> None:
    """--server mode: a classroom whose sessions open the lab."""
    from tutor.serve import ServeConfig, serve_ssh

    config = ServeConfig(
        port=port,
        data_dir=data,
        max_sessions=sessions,
        idle_timeout=3600,
        command=[sys.executable, "-m", "tutor", "lab", lab],
    )
    sys.exit(asyncio.run(serve_ssh(config)))


def tree_usage(pid: int) -> tuple[int, int]:
    """(CPU ticks, resident kB) of ``pid`` and its children (one level: the tutors)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    ticks = rss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            with open(f"/proc/{p}/status") as f:
                rss += next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            continue
    return ticks, rss


async def quiet_for(proc, seconds: float, limit: float = 10.0) -> int:
    """Read until ``seconds`` pass without output (at most ``limit`` s); returns the bytes read."""
    total = 0
    end = time.monotonic() + limit
    try:
        while time.monotonic() < end:
            chunk = await asyncio.wait_for(proc.stdout.read(65536), seconds)
            if not chunk:
                break
            total += len(chunk)
    except TimeoutError:
        pass
    return total


def plays_on_open(lab: str) -> bool:
    from tutor import labs

    cls = type(labs.create(lab))
    return bool(cls.autoplay and cls.PLAY)


async def until_warm(proc, autoplay: bool, limit: float = 900.0) -> None:
    """Wait out the kernels' warm-up (seconds, or minutes on a busy machine): an autoplay
    lab shows "▶" once it trains; another lab stops saying "compiling" for 3 s."""
    end, seen, quiet_since = time.monotonic() + limit, b"", time.monotonic()
    while time.monotonic() < end:
        try:
            chunk = await asyncio.wait_for(proc.stdout.read(65536), 0.5)
        except TimeoutError:
            chunk = b""
        seen = (seen + chunk)[-4096:]
        if autoplay and "▶".encode() in seen:
            return
        if b"compiling" in chunk or b"%" in chunk:
            quiet_since = time.monotonic()
        if not autoplay and time.monotonic() - quiet_since >= 3.0:
            return
    raise RuntimeError("the lab's warm-up did not end")


async def learner(
    port: int,
    name: str,
    seconds: float,
    start_play: asyncio.Event,
    rng: random.Random,
    ready: asyncio.Event,
    autoplay: bool,
) -> dict:
    import asyncssh

    async with asyncssh.connect(
        "127.0.0.1", port, username=name, known_hosts=None, client_keys=None, agent_path=None, config=None
    ) as conn:
        proc = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
        seen = b""
        while b"Train" not in seen and b"Play" not in seen:
            chunk = await asyncio.wait_for(proc.stdout.read(65536), 300)
            if not chunk:
                raise RuntimeError(f"{name}'s session ended before the lab showed")
            seen += chunk
        await until_warm(proc, autoplay)
        ready.set()
        await start_play.wait()
        # Some labs play as they open: if nothing flows for 0.5 s, press Space (play).
        if await quiet_for(proc, 0.5, limit=2.0) < 2000:
            proc.stdin.write(b" ")
        frames, total, last = 0, 0, 0.0
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(proc.stdout.read(65536), left)
            except TimeoutError:
                break
            now = time.monotonic()
            if now - last > GAP:
                frames += 1
            last, total = now, total + len(chunk)
        proc.stdin.write(b" ")  # pause
        await asyncio.sleep(0.5)
        await quiet_for(proc, 0.5)
        latencies = []
        for _ in range(10):
            await asyncio.sleep(rng.uniform(0.3, 0.6))
            sent = time.monotonic()
            proc.stdin.write(b"]")
            try:
                await asyncio.wait_for(proc.stdout.read(65536), 5)
                latencies.append(1000 * (time.monotonic() - sent))
            except TimeoutError:
                latencies.append(5000.0)
            try:  # the rest of that redraw
                while True:
                    await asyncio.wait_for(proc.stdout.read(65536), 0.15)
            except TimeoutError:
                pass
        proc.stdin.write(b"q")
    latencies.sort()
    return {
        "fps": frames / seconds,
        "bytes_per_s": total / seconds,
        "key_ms_p50": statistics.median(latencies),
        "key_ms_p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


async def one_n(n: int, seconds: float, lab: str, seed: int) -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            os.path.abspath(__file__),
            "--server",
            str(port),
            data,
            lab,
            str(n),
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        try:
            assert server.stderr is not None
            while b"serving genai-tutor" not in await asyncio.wait_for(server.stderr.readline(), 60):
                pass
            go = asyncio.Event()
            rng = random.Random(seed)
            ready = [asyncio.Event() for _ in range(n)]
            autoplay = plays_on_open(lab)
            tasks = [
                asyncio.create_task(
                    learner(port, f"l{i}", seconds, go, random.Random(rng.random()), ready[i], autoplay)
                )
                for i in range(n)
            ]
            waiting = {asyncio.create_task(r.wait()) for r in ready}
            while waiting:  # everyone warmed up, or a learner failed (then report it)
                done, _ = await asyncio.wait(
                    waiting | set(tasks), timeout=1200, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    raise RuntimeError("the learners' labs never finished warming up")
                for task in tasks:
                    if task.done():
                        task.result()
                waiting -= done
            await asyncio.sleep(1.0)  # everyone connected, warmed up and playing
            before, t0 = tree_usage(server.pid), time.monotonic()
            go.set()
            await asyncio.sleep(1.0 + seconds / 2)
            _, rss = tree_usage(server.pid)
            await asyncio.sleep(seconds / 2)
            after, t1 = tree_usage(server.pid), time.monotonic()
            results = await asyncio.gather(*tasks)
        finally:
            if server.returncode is None:
                server.send_signal(signal.SIGTERM)
                await asyncio.wait_for(server.wait(), 60)
    cpu = (after[0] - before[0]) / TICK / (t1 - t0)
    fps = [r["fps"] for r in results]
    p95 = max(r["key_ms_p95"] for r in results)
    return {
        "learners": n,
        "fps_min": min(fps),
        "fps_median": statistics.median(fps),
        "bytes_per_s_median": statistics.median(r["bytes_per_s"] for r in results),
        "key_ms_p50_median": statistics.median(r["key_ms_p50"] for r in results),
        "key_ms_p95_max": p95,
        "server_cpu_cores": round(cpu, 2),
        "server_rss_mb": round(rss / 1024, 1),
        "ok": min(fps) >= 8 and p95 <= 100,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--server":
        port, data, lab, sessions = sys.argv[2:6]
        run_server(int(port), Path(data), lab, int(sessions))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", default="1,2,4", help="comma-separated N values")
    parser.add_argument("--seconds", type=float, default=20.0, help="playing window per N")
    parser.add_argument("--lab", default="gan-2d")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for n in (int(x) for x in args.learners.split(",")):
        rows.append(asyncio.run(one_n(n, args.seconds, args.lab, args.seed)))
        if not args.json:
            print(rows[-1], flush=True)
    passing = [r["learners"] for r in rows if r["ok"]]
    report = {
        "lab": args.lab,
        "seconds": args.seconds,
        "cores": os.cpu_count(),
        "rows": rows,
        "largest_n_ok": max(passing) if passing else None,
        "load_average": os.getloadavg(),
    }
    print(
        json.dumps(report, indent=2)
        if args.json
        else f"largest N with >= 8 fps and p95 <= 100 ms: {report['largest_n_ok']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
