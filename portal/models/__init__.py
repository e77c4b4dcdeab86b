"""The domain model (SPEC section 2). Importing this package registers every table."""

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.card import COLOURS, RECOMMIT_STATES, CardEvent, Recommitment
from portal.models.matter import (
    ASSIGNMENT_SOURCES,
    MATTER_STEPS,
    MEETING_KINDS,
    PROBLEM_LEVELS,
    PROBLEM_STATES,
    URGENCIES,
    Assignment,
    Meeting,
    Problem,
    ProblemType,
)
from portal.models.meeting import (
    DOCUMENT_KINDS,
    INTERVIEW_STATES,
    Document,
    Interview,
    interview_card,
)
from portal.models.node import (
    CARDS,
    EVIDENCE_KINDS,
    OPEN_STATUSES,
    STATUSES,
    Evidence,
    Node,
    ProgressEntry,
    node_co_unit,
)
from portal.models.org import League, Unit, UnitAlias
from portal.models.project import (
    PROJECT_KINDS,
    STAGES,
    Category,
    InvestmentReport,
    Project,
    Theme,
    project_co_unit,
    project_contact,
)
from portal.models.system import (
    AuditEntry,
    CalendarDay,
    CountySetting,
    Delivery,
    JobRun,
    LedgerMapping,
    Notification,
    ScoringPolicy,
)
from portal.models.user import ROLES, LoginAttempt, User, UserRole, UserSession, leader_unit

__all__ = [
    "Base", "UTCDateTime", "utcnow",
    "CardEvent", "Recommitment", "COLOURS", "RECOMMIT_STATES",
    "Document", "Interview", "interview_card", "DOCUMENT_KINDS", "INTERVIEW_STATES",
    "Assignment", "Meeting", "Problem", "ProblemType", "ASSIGNMENT_SOURCES", "MATTER_STEPS", "MEETING_KINDS",
    "PROBLEM_LEVELS", "PROBLEM_STATES", "URGENCIES",
    "Evidence", "Node", "ProgressEntry", "CARDS", "STATUSES", "OPEN_STATUSES", "EVIDENCE_KINDS", "node_co_unit",
    "League", "Unit", "UnitAlias",
    "Category", "InvestmentReport", "Project", "Theme", "project_co_unit", "project_contact", "STAGES", "PROJECT_KINDS",
    "AuditEntry", "CalendarDay", "CountySetting", "Delivery", "JobRun", "LedgerMapping", "Notification", "ScoringPolicy",
    "LoginAttempt", "User", "UserRole", "UserSession", "leader_unit", "ROLES",
]
