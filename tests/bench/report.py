"""The HTTP bench's report: each scenario as it finishes, the verdict on the issue's targets,
and the Markdown table for the README. What is measured is in ``bench_http.py``."""

from __future__ import annotations

from tests.bench.harness import Result

# The targets: (minimum ratio to the baseline's requests/s, p99 limit in ms).
TARGETS = {"webhook": (0.5, 50.0), "issuance": (0.3, 100.0)}
HANDOVER_P95_TARGET_MS = 300.0


def report_one(result: Result, baseline: Result) -> None:
    ratio = result.rps / baseline.rps if baseline.rps else float("nan")
    print(
        f"  {result.name:<14} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms  x{ratio:.2f}  statuses {result.statuses}"
        + (f"  socket errors {result.socket_errors}" if result.socket_errors else "")
    )
    if result.handover:
        h = result.handover
        print(
            f"            outbox: {h['messages']:,.0f} messages, handed to LINE p50 "
            f"{h['p50_ms']:.0f} ms, p95 {h['p95_ms']:.0f} ms, p99 {h['p99_ms']:.0f} ms, "
            f"max {h['max_ms']:.0f} ms"
            + (f", {h['missing']:.0f} not delivered" if h["missing"] else "")
        )
    if result.cpu and result.requests:
        parts = sorted(result.cpu.items(), key=lambda kv: -kv[1])
        total = sum(result.cpu.values())
        print(
            f"            CPU per request {total / result.requests * 1000:.2f} ms: "
            + ", ".join(
                f"{label} {seconds / result.requests * 1000:.2f}" for label, seconds in parts
            )
        )
    for note in result.notes:
        print(f"            {note}")


def verdict(result: Result, baseline: Result) -> str:
    target = TARGETS.get(result.name)
    if target is None:
        return ""
    ratio, p99 = target
    ok = result.rps >= ratio * baseline.rps and result.p99_ms < p99 and result.non_2xx == 0
    if result.handover:
        ok = (
            ok
            and result.handover["p95_ms"] < HANDOVER_P95_TARGET_MS
            and not result.handover["missing"]
        )
    return "met" if ok else "NOT met"


def table(results: list[Result]) -> str:
    baseline = results[0]
    head = (
        "| scenario | req/s | p50 ms | p99 ms | x baseline | non-2xx | outbox to LINE p50 / "
        "p95 ms | target | |\n|---|---:|---:|---:|---:|---:|---:|---|---|"
    )
    rows = []
    for r in results:
        target = TARGETS.get(r.name)
        goal = (
            f">= {target[0]}x, p99 < {target[1]:.0f} ms, hand-over p95 < "
            f"{HANDOVER_P95_TARGET_MS:.0f} ms"
            if target
            else ""
        )
        hand = f"{r.handover['p50_ms']:.0f} / {r.handover['p95_ms']:.0f}" if r.handover else ""
        rows.append(
            f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.rps / baseline.rps:.2f} | {r.non_2xx} | {hand} | {goal} | "
            f"{verdict(r, baseline)} |"
        )
    return "\n".join([head, *rows])
