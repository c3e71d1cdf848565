"""The events benchmark: validation + routing alone on one core (target >= 20,000 events/s), and
end to end through moto's server (`ecompipe emulator` in its own process): producing, consuming
with the real handler, and `ecompipe events demo --count N` as a user runs it.

    python bench/events.py                              # 20k pure, 2,000 end to end, demo 5,000
    python bench/events.py --e2e 5000 --demo 5000 --append docs/benchmarks-history.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecompipe.local.emulator import free_port  # noqa: E402
from events import producer, routing  # noqa: E402

PURE_TARGET = 20_000


def pure(count: int, repeats: int = 5) -> dict:
    """Best of `repeats` passes of routing.read over the producer's mix (5% invalid) in this process."""
    bodies = list(producer.payloads(count, seed=1, invalid_rate=0.05, large_rate=0.05))
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for body in bodies:
            routing.read(body)
        best = min(best, time.perf_counter() - started)
    return {"events": count, "seconds": round(best, 3), "per_second": round(count / best)}


def _cli(*args: str, env: dict[str, str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ecompipe", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ecompipe {' '.join(args)} failed:\n{proc.stderr}")
    return time.perf_counter() - started, proc.stdout, proc.stderr


def end_to_end(count: int) -> dict:
    """Produce and consume `count` messages through `ecompipe emulator` in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOMPIPE_", "AWS_", "MOTO_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ecompipe", "emulator", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        at = ("--endpoint-url", url)
        _cli("init", *at, env=env)
        sent_s, out, _ = _cli("events", "produce", "--count", str(count), "--invalid-rate", "0.05",
                              "--large-rate", "0.05", *at, env=env)  # fmt: skip
        consume_s, out, _ = _cli("events", "consume", "--until-empty", "--output", "json", *at, env=env)
        consumed = json.loads(out)
        _, out, _ = _cli("events", "stats", "--output", "json", *at, env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "events": count,
        "produce_seconds": round(sent_s, 1),
        "produce_per_second": round(count / sent_s),
        "consume_seconds": round(consume_s, 1),
        "consume_per_second": round(consumed["received"] / consume_s),
        "outcomes": consumed["outcomes"],
        "stats": json.loads(out),
    }


def demo(count: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOMPIPE_", "MOTO_"))}
    seconds, out, err = _cli("events", "demo", "--count", str(count), "--output", "json", env=env)
    return {"events": count, "seconds": round(seconds, 1), "messages": json.loads(out)["messages"],
            "line": err.strip().splitlines()[-1]}  # fmt: skip


def append(path: Path, results: dict, argv: str) -> None:
    p, e, d = results["pure"], results["e2e"], results["demo"]
    met = "yes" if p["per_second"] >= PURE_TARGET else "no"
    lines = [
        "",
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: `python bench/events.py {argv}`",
        "",
        "| measure | events | seconds | events/s | target | met |",
        "|---|---|---|---|---|---|",
        f"| validation + routing, one core (best of 5) | {p['events']} | {p['seconds']} | {p['per_second']} "
        f"| ≥ {PURE_TARGET:,} | {met} |",
        f"| `events produce` through moto's server | {e['events']} | {e['produce_seconds']} "
        f"| {e['produce_per_second']} | — | — |",
        f"| `events consume` through moto's server (real handler) | {e['events']} | {e['consume_seconds']} "
        f"| {e['consume_per_second']} | — | — |",
        f"| `events demo` (embedded emulator, wall) | {d['events']} | {d['seconds']} "
        f"| {round(d['events'] / d['seconds'])} | — | — |",
        "",
        f"demo: {d['line']}",
    ]
    with path.open("a") as fh:
        fh.write("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pure", type=int, default=20_000, help="events for the pure measure")
    ap.add_argument("--e2e", type=int, default=2_000, help="events through moto's server")
    ap.add_argument("--demo", type=int, default=5_000, help="events for `ecompipe events demo`")
    ap.add_argument("--append", type=Path, help="append the results to this markdown file")
    args = ap.parse_args()
    results = {"pure": pure(args.pure), "e2e": end_to_end(args.e2e), "demo": demo(args.demo)}
    print(json.dumps(results, indent=2))
    if args.append:
        append(args.append, results, " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
