"""Per-process services and the per-request database session (one transaction a request)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, g
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.services.people import LocalRegistryRights, RightsLookup
from authencode.services.registration import RegistrationPolicy
from authencode.settings import Settings
from authencode.web.errors import database_error_response


@dataclass
class Services:
    settings: Settings
    db: Database
    protector: DataProtector
    rights: RightsLookup
    registration: RegistrationPolicy  # who may be linked, from ELIGIBLE_MAIN_RIGHTS


def init_services(app: Flask, settings: Settings) -> None:
    services = Services(
        settings=settings,
        db=Database(settings.database_url),
        protector=DataProtector(settings.key_ring),
        rights=LocalRegistryRights(),
        registration=RegistrationPolicy.from_codes(settings.eligible_main_rights),
    )
    app.extensions["authencode"] = services

    @app.after_request
    def _commit(response: Response) -> Response:
        # Commit before the response leaves, so a failed commit is never answered with 2xx.
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        except DBAPIError as exc:
            session.rollback()
            return database_error_response(exc)
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def services() -> Services:
    return current_app.extensions["authencode"]


def db_session() -> Session:
    """The request's session; its transaction commits after a successful response."""
    if "db_session" not in g:
        g.db_session = services().db.sessionmaker()
    return g.db_session
