"""A facility's Authen Code records: search, open, edit, cancel; the report and its exports.

Every route names the facility by hcode and checks scope first; a code of another facility
is not found. Exports stream from their own database session: the request's session is
closed once the response has left the view.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, redirect, request, url_for
from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.errors import DomainError, register
from authencode.models import AuditEntry, Facility, StaffUser
from authencode.reference import CHANNELS
from authencode.reference import CODE_STATUSES as STATUSES
from authencode.services import (
    audit,
    facilities,
    issuance,
    lookup_refs,
    people,
    report_exports,
    reports,
    visits,
)
from authencode.thaidate import numeric_date, parse_numeric_date, service_day
from authencode.web.context import db_session, services
from authencode.web.downloads import content_disposition
from clinic_qr.chart import stacked_bars
from clinic_qr.facility_pages import scoped_facility
from clinic_qr.person_lookup import REF_PARAM, cid_in_url, person_ref, query_without_cids, ref_cid
from clinic_qr.visits import facility_code
from clinic_qr.web import PageResult, actor, clinic, label, labels, lang, render, staff
from linebot_app import notify

PAGE_SIZES = (10, 25, 50, 100)
DATE_INVALID = register(
    "REPORT_DATE_INVALID",
    "invalid",
    "The date is not a real date: write it day/month/year, e.g. 02/12/2026.",
    "วันที่ไม่ถูกต้อง กรุณากรอกเป็น วัน/เดือน/ปี พ.ศ. เช่น 02/12/2569",
)


# The filter form's fields that travel in the query (the CID travels as a reference).
FILTER_FIELDS = ("code", "date_from", "date_to", "service", "channel", "status", "size")
# Errors of a lookup reference: the links of the page then leave it out.
REF_ERRORS = (lookup_refs.REF_INVALID, lookup_refs.REF_EXPIRED, lookup_refs.CID_IN_URL)


def _date(a: Mapping[str, str], name: str) -> dt.date | None:
    """A filter's date: dd/mm/yyyy (BE or CE, as the picker fills it) or ISO."""
    raw = a.get(name, "").strip()
    if not raw:
        return None
    day = parse_numeric_date(raw) if len(raw) <= 20 else None
    if day is None:
        raise DomainError(DATE_INVALID, detail=name)
    return day


def _filter(
    facility: Facility, a: Mapping[str, str], *, default_today: bool = False
) -> reports.CodeFilter:
    """The filter of the query string, checked in full so a streamed export cannot fail late.

    The person is named by a lookup reference (``person``), never by a CID in the URL.
    Raises REPORT_DATE_INVALID, CID_IN_URL, LOOKUP_REF_*, REPORT_DATE_RANGE and
    REPORT_FILTER_INVALID.
    """
    refused = cid_in_url(a)
    if refused is not None:
        raise refused
    date_from, date_to = _date(a, "date_from"), _date(a, "date_to")
    ref = a.get(REF_PARAM, "").strip()
    if default_today and date_from is None and date_to is None and not ref and not a.get("code"):
        date_from = date_to = service_day()
    if date_from and date_to and date_from > date_to:
        raise DomainError(reports.REPORT_DATE_RANGE)
    cid = ref_cid(ref) if ref else None
    channel = a.get("channel", "") or None
    status = a.get("status", "") or None
    if channel and channel not in CHANNELS:
        raise DomainError(
            reports.REPORT_FILTER_INVALID, name="channel", name_th="ช่องทาง", value=channel[:20]
        )
    if status and status not in STATUSES:
        raise DomainError(
            reports.REPORT_FILTER_INVALID, name="status", name_th="สถานะ", value=status[:20]
        )
    return reports.CodeFilter(
        facility_ids=(facility.id,),
        date_from=date_from,
        date_to=date_to,
        cid=cid,
        code=a.get("code", "").strip() or None,
        service_code=a.get("service", "") or None,
        channel=channel,
        status=status,
    )


def _paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", "1")))
        size = int(request.args.get("size", "10"))
    except ValueError:
        page, size = 1, 10
    return page, size if size in PAGE_SIZES else 10


def _list_page(
    template: str,
    facility: Facility,
    *,
    default_today: bool,
    chart: bool = False,
    args: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> PageResult:
    """The list with its filter form; ``args`` and ``error`` given: the form as sent, with
    the error, and no search."""
    session_ = db_session()
    svc = services()
    page = None
    counts: reports.DailyChart | None = None
    f: reports.CodeFilter | None = None
    if error is None:
        try:
            f = _filter(facility, request.args, default_today=default_today)
            number, size = _paging()
            page = reports.search_codes(session_, svc.protector, f, page=number, size=size)
            if chart and f.date_from and f.date_to and (f.date_to - f.date_from).days <= 92:
                counts = reports.daily_chart(
                    reports.daily_counts(session_, svc.protector, f), f.date_from, f.date_to
                )
        except DomainError as exc:
            error = exc
    if args is None:  # the links carry the query on, never a CID (nor a refused reference)
        refused_ref = error is not None and error.code in REF_ERRORS
        args = dict(
            query_without_cids(request.args.items(), drop=(REF_PARAM,) if refused_ref else ())
        )
    if f is not None:  # the dates actually used, so the form and the links show them
        for name in ("date_from", "date_to"):
            value = getattr(f, name)
            args[name] = numeric_date(value, lang()) if value else ""
    offered = facilities.offered(session_, facility)
    charts = {}
    if counts is not None:
        names = {s.code: f"{s.code} {s.name_th}" for s in offered}
        charts = {
            "service_chart": stacked_bars(
                counts.days, counts.by_service, name=lambda c: names.get(c, c), lang=lang()
            ),
            "channel_chart": stacked_bars(
                counts.days, counts.by_channel, name=lambda c: label("channel", c), lang=lang()
            ),
        }
    return render(
        template,
        200 if error is None else error.http_status,
        facility=facility,
        error=error,
        page=page,
        chart=counts,
        args=args,
        **charts,
        services=offered,
        channels=CHANNELS,
        statuses=STATUSES,
        channel_labels=labels("channel"),
        status_labels=labels("code_status"),
        sizes=PAGE_SIZES,
        person_masked=mask_cid(f.cid) if f is not None and f.cid else "",
    )


def _search_posted(template: str, facility: Facility, *, chart: bool = False) -> PageResult:
    """The filter form, posted: back to the list with the filters in the query and a typed
    CID as a lookup reference (303, so reloading does not post again)."""
    form = request.form
    args = {name: form[name].strip() for name in FILTER_FIELDS if form.get(name, "").strip()}
    typed = form.get("cid", "").strip()
    kept = form.get(REF_PARAM, "").strip()
    try:
        if typed:
            args[REF_PARAM] = person_ref(typed, staff().id)
        elif kept and not form.get("clear_person"):
            ref_cid(kept)  # still this session's and not expired
            args[REF_PARAM] = kept
    except DomainError as error:
        return _list_page(
            template, facility, default_today=True, chart=chart, args=args, error=error
        )
    query: dict[str, Any] = args
    return redirect(url_for(str(request.endpoint), hcode=facility.hcode, **query), 303)


@clinic.route("/facilities/<hcode>/records", methods=["GET", "POST"])
def record_search(hcode: str) -> PageResult:
    """Search the facility's codes (today's by default); the form is posted."""
    facility = scoped_facility(hcode)
    if request.method == "POST":
        return _search_posted("record_search.html", facility)
    return _list_page("record_search.html", facility, default_today=True)


def _history(code_id: int) -> list[tuple[AuditEntry, str]]:
    """The code's audit entries, oldest first, with who made each."""
    session_ = db_session()
    entries = list(
        session_.scalars(
            select(AuditEntry)
            .where(AuditEntry.target == f"authen_code:{code_id}")
            .order_by(AuditEntry.id)
        )
    )
    ids = {
        int(e.actor.split(":", 1)[1])
        for e in entries
        if e.actor.startswith("staff:") and e.actor[6:].isdigit()
    }
    names = (
        {
            s.id: s.display_name
            for s in session_.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
        }
        if ids
        else {}
    )
    out = []
    for entry in entries:
        who = entry.actor
        if who.startswith("staff:") and who[6:].isdigit():
            who = names.get(int(who[6:]), who)
        out.append((entry, who))
    return out


def _record_page(
    facility: Facility, code_id: int, status: int = 200, error: DomainError | None = None
) -> PageResult:
    session_ = db_session()
    svc = services()
    code = facility_code(facility, code_id)
    evidence = visits.evidence_of(session_, code)
    certifier = visits.certifier_cid(svc.protector, evidence) if evidence else None
    staff_ids = {
        i
        for i in (code.recorder_staff_id, code.edited_by_staff_id, code.cancelled_by_staff_id)
        if i
    }
    names = (
        {
            s.id: s.display_name
            for s in session_.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))
        }
        if staff_ids
        else {}
    )
    return render(
        "record_detail.html",
        status,
        facility=facility,
        code=code,
        error=error,
        masked_cid=mask_cid(people.person_cid(svc.protector, code.person)),
        evidence=evidence,
        certifier=mask_cid(certifier) if certifier else None,
        relations=visits.RELATIONS,
        names=names,
        history=_history(code.id),
        services=facilities.offered(session_, facility),
        form=request.form,
        channel_labels=labels("channel"),
        method_labels=labels("method"),
        status_labels=labels("code_status"),
    )


@clinic.get("/facilities/<hcode>/records/<int:code_id>")
def record_detail(hcode: str, code_id: int) -> PageResult:
    return _record_page(scoped_facility(hcode), code_id)


@clinic.post("/facilities/<hcode>/records/<int:code_id>/edit")
def record_edit(hcode: str, code_id: int) -> PageResult:
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    f = request.form
    try:
        issuance.edit_code(
            db_session(),
            code,
            staff_id=staff().id,
            reason=f.get("reason", ""),
            service_code=f.get("service") or None,
            phones=f.get("phones"),
            hn=f.get("hn"),
            an=f.get("an"),
        )
    except DomainError as error:
        return _record_page(facility, code_id, error.http_status, error)
    return redirect(url_for("clinic.record_detail", hcode=facility.hcode, code_id=code.id, saved=1))


@clinic.post("/facilities/<hcode>/records/<int:code_id>/cancel")
def record_cancel(hcode: str, code_id: int) -> PageResult:
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    try:
        issuance.cancel_code(
            db_session(), code, staff_id=staff().id, reason=request.form.get("cancel_reason", "")
        )
    except DomainError as error:
        return _record_page(facility, code_id, error.http_status, error)
    notify.code_cancelled(db_session(), services().protector, code)  # if it was got in LINE
    return redirect(
        url_for("clinic.record_detail", hcode=facility.hcode, code_id=code.id, cancelled=1)
    )


@clinic.get("/facilities/<hcode>/records/<int:code_id>/person")
def person_history(hcode: str, code_id: int) -> PageResult:
    """Every Authen Code of the person of this record at this facility, newest first.

    Reached from a record so no CID travels in the URL.
    """
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    svc = services()
    cid = people.person_cid(svc.protector, code.person)
    number, size = _paging()
    page = reports.search_codes(
        db_session(),
        svc.protector,
        reports.CodeFilter(facility_ids=(facility.id,), cid=cid),
        page=number,
        size=size,
    )
    return render(
        "person_history.html",
        facility=facility,
        code=code,
        page=page,
        masked_cid=mask_cid(cid),
        args={"code_id": code.id, "size": size},
        channel_labels=labels("channel"),
        status_labels=labels("code_status"),
    )


@clinic.get("/facilities/<hcode>/records/<int:code_id>/photo")
def record_photo(hcode: str, code_id: int) -> PageResult:
    """The patient's photo of a confirmed visit, for staff of the facility only."""
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    evidence = visits.evidence_of(db_session(), code)
    body = visits.photo_bytes(services().protector, evidence) if evidence else None
    if evidence is None or body is None:
        raise DomainError("NOT_FOUND")
    response = Response(body, mimetype=evidence.photo_type or "application/octet-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'inline; filename="visit-{code.code}"'
    return response


@clinic.route("/facilities/<hcode>/report", methods=["GET", "POST"])
def report(hcode: str) -> PageResult:
    """The code request report: filters, paging, daily counts and the download links."""
    facility = scoped_facility(hcode)
    if request.method == "POST":
        return _search_posted("report.html", facility, chart=True)
    return _list_page("report.html", facility, default_today=True, chart=True)


@clinic.get("/facilities/<hcode>/report.csv")
def report_csv(hcode: str) -> PageResult:
    """The filtered report as CSV in UTF-8 with a BOM (Excel then shows Thai), streamed."""
    return _export(scoped_facility(hcode), "csv")


@clinic.get("/facilities/<hcode>/report.xlsx")
def report_xlsx(hcode: str) -> PageResult:
    """The filtered report as an XLSX workbook, written with flat memory, then streamed."""
    return _export(scoped_facility(hcode), "xlsx")


def _export(facility: Facility, fmt: str) -> PageResult:
    f = _filter(facility, request.args, default_today=True)
    audit.record(
        db_session(),
        actor(),
        "report.export",
        f"facility:{facility.hcode}",
        {"format": fmt, "from": str(f.date_from or ""), "to": str(f.date_to or "")},
    )
    response = Response(_export_body(f, fmt), mimetype=report_exports.EXPORT_CONTENT_TYPES[fmt])
    filename = report_exports.export_filename(facility.hcode, f, fmt)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def _export_body(f: reports.CodeFilter, fmt: str) -> Iterator[bytes]:
    svc = services()  # taken now: the generator runs after the request context is gone

    def generate() -> Iterator[bytes]:
        with svc.db.read_only() as session:
            rows = report_exports.iter_export_rows(session, svc.protector, f)
            if fmt == "csv":
                yield from report_exports.csv_chunks(rows)
                return
            with tempfile.TemporaryFile() as spool:
                report_exports.write_xlsx(rows, spool)
                spool.seek(0)
                while chunk := spool.read(64 * 1024):
                    yield chunk

    return generate()
