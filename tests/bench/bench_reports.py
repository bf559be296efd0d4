"""Benchmark: the code request report and its CSV/XLSX export on 1,000,000 codes in PostgreSQL.

Run: ``python tests/bench/bench_reports.py`` (``make bench``). It starts a throwaway
PostgreSQL cluster (or uses ``--database-url``, which it fills: give it an empty database),
migrates it, loads the codes with set-based ``INSERT … SELECT generate_series``, and prints:

- a one-day report page (filtered by service and channel, and unfiltered, and a deep page)
  and a one-month page with its total count: median and 95th percentile over repeats;
- the daily counts of a month (the chart);
- CSV exports of a day and of a month (about 100,000 rows): time, rows/s, bytes, and the
  resident memory before and at its peak during the export, which stays flat because rows
  are streamed through a server-side cursor;
- an XLSX export of a day (``--xlsx-month`` adds the month, which takes a while).

Nothing is asserted: speed is measured here, never in a test.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from authencode import migrate  # noqa: E402
from authencode.cid import check_digit  # noqa: E402
from authencode.crypto import DataProtector  # noqa: E402
from authencode.db import Database  # noqa: E402
from authencode.services import report_exports, reports  # noqa: E402
from authencode.services.reports import CodeFilter  # noqa: E402
from tests.support.factories import make_facility, make_staff  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

DATA_KEY = base64.b64decode("q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=")
FACILITIES = 10
DAYS = 180
FIRST_DAY = dt.date(2026, 1, 1)
MAIN_FACILITY = 1  # gets 60% of the codes: about 3,300 a day, 100,000 a month


def rss_bytes() -> int:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if abs(n) >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


def person_cid(n: int) -> str:
    first12 = f"1{n:011d}"
    return first12 + str(check_digit(first12))


# --- loading ---------------------------------------------------------------------------------


def load(database: Database, protector: DataProtector, codes: int, persons: int) -> None:
    """Facilities, staff, persons (COPY, with real hashes and ciphertexts), then the codes."""
    started = time.perf_counter()
    with database.transaction() as session:
        for i in range(1, FACILITIES + 1):
            facility = make_facility(
                session,
                hcode=f"{10000 + i}",
                name=f"หน่วยบริการทดสอบ {i}",
                services=("PG0060001", "PG0090001", "PG0150001"),
            )
            staff = make_staff(session, protector, facility, username=f"staff{i}")
            # The codes below name facility i's recorder as staff i.
            assert facility.id == staff.id == i, "give the benchmark an empty database"
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY persons (id, cid_hash, cid_enc, title_th, first_name_th, middle_name_th, "
            "last_name_th, title_en, first_name_en, middle_name_en, last_name_en, sex, "
            "birth_year, birth_month, birth_day, nation_code, main_right, sub_right, "
            "deceased, updated_at) FROM STDIN"
        ) as copy:
            now = dt.datetime.now(dt.UTC)
            for n in range(1, persons + 1):
                cid = person_cid(n)
                copy.write_row(
                    (
                        n,
                        protector.lookup_hash(cid),
                        protector.encrypt(cid),
                        "นาย",
                        f"ทดสอบ{n}",
                        "",
                        "ใจดี",
                        "Mr.",
                        f"Test{n}",
                        "",
                        "Jaidee",
                        "1",
                        1950 + n % 60,
                        1 + n % 12,
                        1 + n % 28,
                        "099",
                        "UCS",
                        "89",
                        False,
                        now,
                    )
                )
        raw.commit()
    finally:
        raw.close()
    persons_done = time.perf_counter()
    # One code per person per "round"; a person's rounds fall on different days, so the
    # one-active-code-a-day rule holds whatever the facility and service.
    rounds = -(-codes // persons)
    span = DAYS // rounds
    with database.engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO authen_codes (
                code, person_id, facility_id, service_code, service_date, service_at,
                channel, verify_method, phones, main_right, sub_right, hn, status,
                recorded_at, recorder_staff_id, cancelled_at, cancelled_by_staff_id,
                cancel_reason)
            SELECT 'PP' || lpad(g::text, 10, '0'), p, f,
                   (ARRAY['PG0060001','PG0060001','PG0060001','PG0090001','PG0150001'])
                       [1 + g % 5],
                   d, at,
                   (ARRAY['line','line','line','line','line','smartcard','smartcard',
                          'cid_photo','certified_pid','kiosk'])[1 + (g / 7) % 10],
                   (ARRAY['line_qr','line_qr','line_qr','line_qr','line_qr','smartcard',
                          'smartcard','photo','certified','kiosk_smartcard'])[1 + (g / 7) % 10],
                   '08' || lpad((g % 100000000)::text, 8, '0'), 'UCS', '89',
                   CASE WHEN g % 3 = 0 THEN 'HN' || g END,
                   CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'active' END,
                   at,
                   CASE WHEN (g / 7) % 10 IN (5, 6, 7, 8) THEN f END,
                   CASE WHEN g % 50 = 0 THEN at + interval '1 hour' END,
                   CASE WHEN g % 50 = 0 THEN f END,
                   CASE WHEN g % 50 = 0 THEN 'บันทึกซ้ำ' END
            FROM (
                SELECT g, p, f, d,
                       ((d + time '08:00' + (g % 600) * interval '1 minute')
                           AT TIME ZONE 'Asia/Bangkok') AS at
                FROM (
                    SELECT g, 1 + g % :persons AS p,
                           CASE WHEN (g * 7) % 10 < 6 THEN :main ELSE 2 + (g * 7) % 9 END AS f,
                           CAST(:first_day AS date)
                               + ((g / :persons) * :span + (g % :persons) % :span)::int AS d
                    FROM generate_series(0, CAST(:last AS bigint)) AS g
                ) AS base
            ) AS rows
            ORDER BY at  -- stored in the order a live system writes them
        """),
            {
                "persons": persons,
                "main": MAIN_FACILITY,
                "first_day": FIRST_DAY,
                "span": span,
                "last": codes - 1,
            },
        )
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    done = time.perf_counter()
    print(
        f"loaded {persons:,} persons in {persons_done - started:.1f} s and {codes:,} codes in "
        f"{done - persons_done:.1f} s"
    )


# --- measuring -------------------------------------------------------------------------------


def timed(label: str, repeats: int, action: Callable[[], object]) -> None:
    action()  # warm the caches, as a server that has been running would be
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
    print(f"  {label:<52} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


class CountingSink(io.RawIOBase):
    """A writable file that only counts bytes (so memory measures the export, not a buffer)."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


def sampled(rows: Iterable[list[str]], peak: list[int]) -> Iterator[list[str]]:
    """Pass rows through, sampling resident memory every 2,000 rows."""
    for n, row in enumerate(rows):
        if n % 2000 == 0:
            peak[0] = max(peak[0], rss_bytes())
        yield row


def export(
    label: str, database: Database, protector: DataProtector, f: CodeFilter, fmt: str
) -> None:
    with database.sessionmaker() as session:
        before = rss_bytes()
        peak = [before]
        counted = [0]

        def rows() -> Iterator[list[str]]:
            for row in sampled(report_exports.iter_export_rows(session, protector, f), peak):
                counted[0] += 1
                yield row

        started = time.perf_counter()
        if fmt == "csv":
            size = sum(len(chunk) for chunk in report_exports.csv_chunks(rows()))
        else:
            sink = CountingSink()
            report_exports.write_xlsx(rows(), sink)  # type: ignore[arg-type]
            size = sink.size
        seconds = time.perf_counter() - started
        peak[0] = max(peak[0], rss_bytes())
    n = counted[0]
    print(
        f"  {label:<30} {n:>8,} rows  {seconds:6.2f} s  {n / seconds:>9,.0f} rows/s  "
        f"{mib(size):>10}  RSS {mib(before)} -> peak {mib(peak[0])} "
        f"(+{mib(peak[0] - before)})"
    )


def run(url: str, codes: int, persons: int, repeats: int, xlsx_month: bool) -> None:
    protector = DataProtector(DATA_KEY)
    migrate.upgrade(url)
    database = Database(url)
    try:
        load(database, protector, codes, persons)
        day = FIRST_DAY + dt.timedelta(days=40)
        month = (day, day + dt.timedelta(days=29))
        scope = (MAIN_FACILITY,)
        with database.sessionmaker() as session:
            per_day = session.scalar(
                text(
                    "SELECT count(*) FROM authen_codes WHERE facility_id = :f AND service_date = :d"
                ),
                {"f": MAIN_FACILITY, "d": day},
            )
        print(f"facility {10000 + MAIN_FACILITY}: {per_day:,} codes on {day}")

        def page(f: CodeFilter, number: int = 1) -> Callable[[], object]:
            def go() -> object:
                with database.sessionmaker() as session:
                    return reports.search_codes(session, protector, f, page=number, size=10)

            return go

        print(f"report pages (10 rows + total count), {repeats} repeats:")
        timed(
            "one day, service + channel filtered, page 1",
            repeats,
            page(CodeFilter(scope, day, day, service_code="PG0060001", channel="line")),
        )
        timed("one day, unfiltered, page 1", repeats, page(CodeFilter(scope, day, day)))
        timed("one day, unfiltered, page 100", repeats, page(CodeFilter(scope, day, day), 100))
        timed("one day, by CID", repeats, page(CodeFilter(scope, day, day, cid=person_cid(1234))))
        timed(
            "30 days, status cancelled, page 1",
            repeats,
            page(CodeFilter(scope, *month, status="cancelled")),
        )
        timed("30 days, unfiltered, page 1", repeats, page(CodeFilter(scope, *month)))

        def chart() -> object:
            with database.sessionmaker() as session:
                return reports.daily_counts(session, protector, CodeFilter(scope, *month))

        timed("daily counts by service and channel, 30 days", repeats, chart)

        print("exports (streamed; RSS = this process's resident memory):")
        export("CSV, one day", database, protector, CodeFilter(scope, day, day), "csv")
        export("CSV, 30 days", database, protector, CodeFilter(scope, *month), "csv")
        export("XLSX, one day", database, protector, CodeFilter(scope, day, day), "xlsx")
        if xlsx_month:
            export("XLSX, 30 days", database, protector, CodeFilter(scope, *month), "xlsx")
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--xlsx-month", action="store_true", help="also export 30 days as XLSX")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to fill instead")
    args = parser.parse_args()
    if args.codes > args.persons * DAYS:
        parser.error(f"at most {DAYS} codes per person")
    if args.database_url:
        run(args.database_url, args.codes, args.persons, args.repeats, args.xlsx_month)
        return
    cluster = PostgresCluster().start()
    try:
        engine = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench"'))
        engine.dispose()
        run(cluster.url_for("bench"), args.codes, args.persons, args.repeats, args.xlsx_month)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
