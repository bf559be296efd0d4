"""Benchmark: APDU exchanges and time per full read with photo, through pcscd + vpcd.

Run as root (it starts its own pcscd): ``python tests/reader_agent/bench_card_read.py``.
It reports, for each card style, the APDUs one read exchanges, the wall time of a read,
and the agent's own time (the read less the time spent waiting in SCardTransmit, which
with vpcd is mostly the virtual card and the TCP hops).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pcsc_stack import PcscDaemon, exclusive_use, wait_for_card
from virtual_card import ATR_3B67, ATR_3B68, READER_NAMES, VirtualThaiIdCard

from reader_agent.card_reader import ThaiIdCardReader

STYLES = {
    "61xx + GET RESPONSE (ATR 3B 67)": {"style": "get_response", "atr": ATR_3B67},
    "data with 9000": {"style": "direct", "atr": ATR_3B68},
    "6Cxx, repeat with Le": {"style": "case4", "atr": ATR_3B68},
}


def bench(reads: int) -> None:
    """Print one line per card style."""
    reader = ThaiIdCardReader()
    for label, options in STYLES.items():
        card = VirtualThaiIdCard(**options)
        card.insert(0)
        try:
            wait_for_card(READER_NAMES[0], present=True)
            reader.read(READER_NAMES[0], with_photo=True)  # warm-up
            walls, own = [], []
            for _ in range(reads):
                reader.read(READER_NAMES[0], with_photo=True)
                walls.append(reader.last_stats.seconds * 1000)
                own.append(reader.last_stats.agent_seconds * 1000)
            print(
                f"{label:34} {reader.last_stats.apdus:3d} APDUs/read  "
                f"read {statistics.median(walls):6.2f} ms  "
                f"agent's own {statistics.median(own):5.2f} ms  (median of {reads})"
            )
        finally:
            card.remove()
            wait_for_card(READER_NAMES[0], present=False)


def main() -> None:
    """Start pcscd, run the benchmark, stop pcscd."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    daemon = PcscDaemon(Path(tempfile.mkdtemp()) / "pcscd.log")
    daemon.check_prerequisites()
    with exclusive_use():
        daemon.start()
        try:
            bench(args.reads)
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
