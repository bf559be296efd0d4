"""Account pages: log in and out, register, change a password, forgotten passwords."""

from __future__ import annotations

from flask import make_response, redirect, request, session, url_for

from authencode.cid import is_valid_cid, parse_cid
from authencode.db import utcnow
from authencode.errors import DomainError
from authencode.ratelimit import UPLOAD_BYTES
from authencode.services import facilities, staff_accounts, staff_auth, work_waiting
from authencode.web import limits
from authencode.web.context import db_session, services
from authencode.web.limits import client_ip
from clinic_qr.web import (
    DEVICE_COOKIE,
    PageResult,
    begin_login,
    clinic,
    device_cookies,
    end_login,
    mail_after_commit,
    policy,
    public,
    remember_device,
    render,
    safe_next,
    staff,
)

AFFILIATIONS = (
    "สำนักงานปลัดกระทรวงสาธารณสุข",
    "องค์กรปกครองส่วนท้องถิ่น",
    "กรุงเทพมหานคร",
    "สังกัดกระทรวงอื่น",
    "เอกชน",
    "อื่นๆ",
)


@clinic.route("/login", methods=["GET", "POST"])
@public
def login() -> PageResult:
    next_url = request.values.get("next")
    if request.method == "GET":
        notice = "expired" if request.args.get("expired") else None
        return render("login.html", next_url=next_url, notice=notice)
    session_ = db_session()
    try:
        done = staff_auth.log_in(
            session_,
            request.form.get("username", ""),
            request.form.get("password", ""),
            policy(),
            address=client_ip(),
            devices=device_cookies(),
            device_cookie=request.cookies.get(DEVICE_COOKIE),
        )
    except DomainError as error:
        session_.commit()  # the counted failure and its audit entry outlive the refusal
        return render(
            "login.html",
            error.http_status,
            error=error,
            next_url=next_url,
            username=request.form.get("username", ""),
        )
    begin_login(done.sid)
    target = (
        url_for("clinic.change_password")
        if done.staff.must_change_password
        else safe_next(next_url)
    )
    return remember_device(redirect(target), done.device_cookie)


@clinic.post("/logout")
def logout() -> PageResult:
    staff_auth.log_out(db_session(), session.get("sid"))
    end_login()
    return redirect(url_for("clinic.login"))


@clinic.get("/")
def home() -> PageResult:
    return render(
        "home.html",
        facilities=facilities.visible_facilities(db_session(), staff()),
        work=work_waiting.for_staff(db_session(), staff()),
    )


def _registration_form() -> staff_accounts.Registration:
    f = request.form
    address = staff_accounts.Address(
        **{
            name: f.get(name, "").strip()
            for name in (
                "house_no",
                "moo",
                "building",
                "soi",
                "road",
                "subdistrict",
                "district",
                "province",
                "postcode",
            )
        }
    )
    return staff_accounts.Registration(
        cid=f.get("cid", ""),
        username=f.get("username", ""),
        first_name=f.get("first_name", ""),
        last_name=f.get("last_name", ""),
        email=f.get("email", ""),
        facility_hcode=f.get("facility", ""),
        affiliation=f.get("affiliation", ""),
        address=address,
        employee_code=f.get("employee_code", ""),
        position=f.get("position", ""),
        evidence_kind=f.get("evidence_kind", "id_card"),
        evidence_note=f.get("evidence_note", ""),
    )


@clinic.route("/register", methods=["GET", "POST"])
@public
def register() -> PageResult:
    choices = facilities.active_facilities(db_session())
    if request.method == "GET":
        return render("register.html", form={}, facilities=choices, affiliations=AFFILIATIONS)
    registration = _registration_form()
    if is_valid_cid(registration.cid):  # over the limit: the error page, 429
        limits.check("register_cid", parse_cid(registration.cid))
    upload = request.files.get("document")
    document = (
        staff_accounts.Upload(upload.filename or "document", upload.read())
        if upload and upload.filename
        else None
    )
    try:
        staff_accounts.register_staff(
            db_session(),
            services().protector,
            registration,
            document,
            reserve_upload=lambda size: limits.check(UPLOAD_BYTES, limits.client_ip(), size),
        )
    except DomainError as error:
        form = request.form.to_dict()
        return render(
            "register.html",
            error.http_status,
            error=error,
            form=form,
            facilities=choices,
            affiliations=AFFILIATIONS,
        )
    return render(
        "message.html",
        title=("ส่งคำขอสมัครใช้งานแล้ว", "Registration sent"),
        lines=[
            (
                "ผู้ดูแลระบบจะตรวจสอบคำขอ เมื่ออนุมัติแล้วระบบจะส่งรหัสผู้ใช้และรหัสผ่านตั้งต้นไปยังอีเมลที่ท่านลงทะเบียนไว้",
                "An administrator will review your registration. Once approved, "
                "your user ID and initial password are sent to your email.",
            )
        ],
    )


@clinic.route("/password", methods=["GET", "POST"])
def change_password() -> PageResult:
    account = staff()
    if request.method == "GET":
        return render("password.html", forced=account.must_change_password)
    f = request.form
    try:
        staff_auth.change_password(
            db_session(),
            account,
            f.get("current_password", ""),
            f.get("new_password", ""),
            f.get("confirm_password", ""),
            keep_sid=session.get("sid"),
        )
    except DomainError as error:
        return render(
            "password.html", error.http_status, error=error, forced=account.must_change_password
        )
    return redirect(url_for("clinic.home", changed=1))


@clinic.route("/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> PageResult:
    if request.method == "GET":
        return render("forgot.html")
    reset_base = services().settings.public_base_url + url_for("clinic.reset_password", token="")
    email = request.form.get("email", "")
    # At most a few mails an hour per address, counted whether or not it is registered.
    if limits.within("forgot_email", staff_auth.reset_address(email)):
        staff_auth.request_reset(db_session(), services().protector, email, reset_base, policy())
        mail_after_commit()
    # The same answer whether or not the address is registered (or was throttled).
    return render(
        "message.html",
        title=("ตรวจสอบอีเมลของท่าน", "Check your email"),
        lines=[
            (
                "หากอีเมลนี้ลงทะเบียนไว้ ระบบได้ส่งลิงก์สำหรับตั้งรหัสผ่านใหม่ไปแล้ว ลิงก์ใช้ได้ครั้งเดียวและมีอายุจำกัด",
                "If this address is registered, a link to set a new password has been "
                "sent. The link works once and expires.",
            )
        ],
    )


@clinic.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> PageResult:
    session_ = db_session()
    if request.method == "GET":
        staff_auth.reset_for_token(session_, token)  # RESET_INVALID renders the error page
        return render("reset.html", token=token)
    f = request.form
    try:
        account = staff_auth.reset_password(
            session_, token, f.get("new_password", ""), f.get("confirm_password", "")
        )
    except DomainError as error:
        if error.code == staff_auth.RESET_INVALID:
            raise
        return render("reset.html", error.http_status, error=error, token=token)
    page = make_response(
        render(
            "message.html",
            title=("ตั้งรหัสผ่านใหม่แล้ว", "Password changed"),
            lines=[("กรุณาเข้าสู่ระบบด้วยรหัสผ่านใหม่", "Please log in with your new password.")],
            login_link=True,
        )
    )
    # The link proved the mailbox: this browser logs in past throttles others caused.
    return remember_device(
        page, device_cookies().remember(request.cookies.get(DEVICE_COOKIE), account.id, utcnow())
    )
