"""Looking a person up by CID without the CID in any URL (the clinic's pages).

The CID is typed into a POST form (CSRF-checked like every clinic form); the page that
answers names the person by an opaque reference bound to the staff session
(authencode.services.lookup_refs), carried in the query as ``person``. An old address with
``?cid=`` is answered with a message and no lookup, and the value is not echoed anywhere.

Each typed CID counts against the hour's look-ups of the staff member (``staff_cid_lookup``)
and of the client address (``staff_cid_lookup_ip``); past either the answer is 429 with
Retry-After and nothing is looked up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask import session

from authencode.errors import DomainError
from authencode.services import lookup_refs
from authencode.web import limits
from authencode.web.context import services

REF_PARAM = "person"
# Query parameters that once carried a CID (the counter's look-up, the records' filter).
CID_PARAMS = ("cid", "certifier_cid")
# What a CID may be spelt with between its digits in a URL (decoded): dashes, spaces, dots.
_SEPARATORS = re.compile(r"[\s\-+._\u2010-\u2015\u2212]")
_CID_RUN = re.compile(r"\d{13}")


def _session_key() -> str:
    sid = session.get("sid")
    return sid if isinstance(sid, str) else ""


def count_lookup(staff_id: int) -> None:
    """Count one typed CID for the staff member and the client address; raises
    RateLimitedError (STAFF_CID_LOOKUPS_EXCEEDED, 429) past either hour's limit."""
    limits.check("staff_cid_lookup", str(staff_id))
    limits.check("staff_cid_lookup_ip", limits.client_ip())


def person_ref(cid: str, staff_id: int) -> str:
    """An opaque reference to the CID for this staff session (raises CID_* if invalid);
    counted as a look-up (:func:`count_lookup`) before anything else."""
    count_lookup(staff_id)
    return lookup_refs.make_ref(services().protector, cid, _session_key())


def ref_cid(ref: str) -> str:
    """The CID behind a reference of this session; raises LOOKUP_REF_INVALID/EXPIRED."""
    return lookup_refs.read_ref(services().protector, ref, _session_key())


def cid_in_url(args: Mapping[str, str]) -> DomainError | None:
    """CID_IN_URL when the query carries a CID parameter (an old bookmark or link)."""
    if any(args.get(name) for name in CID_PARAMS):
        return DomainError(lookup_refs.CID_IN_URL)
    return None


def holds_cid(value: str) -> bool:
    """Whether a (decoded) URL part holds 13 digits in a row, separators between them aside."""
    return _CID_RUN.search(_SEPARATORS.sub("", value)) is not None


def query_without_cids(
    pairs: Iterable[tuple[str, str]], *, drop: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The query's pairs minus CID parameters, those named in ``drop``, and any holding a
    CID's 13 digits."""
    return [
        (name, value)
        for name, value in pairs
        if name not in CID_PARAMS + drop and not holds_cid(name) and not holds_cid(value)
    ]
