"""The domain model (SPEC section 2). Importing this package registers every table."""

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.card import COLOURS, RECOMMIT_STATES, CardEvent, Recommitment
from portal.models.meeting import (
    DOCUMENT_KINDS,
    INTERVIEW_STATES,
    Document,
    Interview,
    interview_card,
)
from portal.models.node import CARDS, EVIDENCE_KINDS, STATUSES, Evidence, Node, ProgressEntry
from portal.models.org import League, Unit
from portal.models.project import (
    STAGES,
    Category,
    Project,
    Theme,
    project_co_unit,
    project_contact,
)
from portal.models.system import AuditEntry, CalendarDay, JobRun, Notification, ScoringPolicy
from portal.models.user import ROLES, LoginAttempt, User, UserRole, UserSession, leader_unit

__all__ = [
    "Base", "UTCDateTime", "utcnow",
    "CardEvent", "Recommitment", "COLOURS", "RECOMMIT_STATES",
    "Document", "Interview", "interview_card", "DOCUMENT_KINDS", "INTERVIEW_STATES",
    "Evidence", "Node", "ProgressEntry", "CARDS", "STATUSES", "EVIDENCE_KINDS",
    "League", "Unit",
    "Category", "Project", "Theme", "project_co_unit", "project_contact", "STAGES",
    "AuditEntry", "CalendarDay", "JobRun", "Notification", "ScoringPolicy",
    "LoginAttempt", "User", "UserRole", "UserSession", "leader_unit", "ROLES",
]
