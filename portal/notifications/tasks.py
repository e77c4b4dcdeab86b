"""Deliveries as a background job: queued after a commit that wrote notices, and every minute."""

from __future__ import annotations

from jobs.context import app_context
from portal.core.clock import get_clock
from portal.notifications import delivery


def deliver() -> dict:
    """Fan out new notices and send what is due (portal.notifications.delivery)."""
    with app_context():
        return delivery.deliver(get_clock()).as_dict()
