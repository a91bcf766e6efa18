"""Inline checks and the human exception path: ``check``, ``hold`` and guarded ``observe``."""

from .check import CheckResult, check
from .hold import Decision, Ticket, hold
from .observe import GuardFailed, guarded

__all__ = ["CheckResult", "Decision", "GuardFailed", "Ticket", "check", "guarded", "hold"]
