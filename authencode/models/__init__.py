"""Typed SQLAlchemy models; importing this package registers every table on Base.metadata."""

from authencode.db import Base
from authencode.models.agent import AgentSession, ApiToken, CardRead
from authencode.models.approvals import LinkApproval
from authencode.models.clinic import PasswordReset, StaffDocument, StaffSession
from authencode.models.codes import AuthenCode, CodeNumber, VisitEvidence
from authencode.models.conversation import ChatConversation
from authencode.models.erasure import ErasureRequest
from authencode.models.facility import Facility, FacilityService, ServiceType
from authencode.models.kiosk import Kiosk
from authencode.models.liff import PcuChangeRequest
from authencode.models.line import AccountNotice, ConsentRecord, FamilyLink, LineAccount
from authencode.models.ops import AuditEntry, OutboxMessage, WebhookEvent, WorkCounter
from authencode.models.qr import FacilityKey
from authencode.models.registry import Person, Right
from authencode.models.staff import LoginThrottle, StaffUser
from authencode.models.thaid import ThaidAuthorization
from authencode.models.verification import LinkVerification

__all__ = [
    "AccountNotice",
    "AgentSession",
    "ApiToken",
    "AuditEntry",
    "AuthenCode",
    "Base",
    "CardRead",
    "ChatConversation",
    "CodeNumber",
    "ConsentRecord",
    "ErasureRequest",
    "Facility",
    "FacilityKey",
    "FacilityService",
    "FamilyLink",
    "Kiosk",
    "LineAccount",
    "LinkApproval",
    "LinkVerification",
    "LoginThrottle",
    "OutboxMessage",
    "PasswordReset",
    "PcuChangeRequest",
    "Person",
    "Right",
    "ServiceType",
    "StaffDocument",
    "StaffSession",
    "StaffUser",
    "ThaidAuthorization",
    "VisitEvidence",
    "WebhookEvent",
    "WorkCounter",
]
