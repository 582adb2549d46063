"""Exception insights for admins: where people spend their time, what they decide, and what could be
automated safely. Everything here reads the store; nothing writes except the ROI settings.

- outcomes.py: how a held call ended (approved unchanged, edited, rejected, expired...)
- exceptions.py: held calls broken down by category, rule, tool and queue; rates; timing; workload
- candidates.py: rules and tools to loosen (approved unchanged) or to tighten (often rejected or edited)
- roi.py: work saved by automation against review time spent
"""

from server.insights.candidates import Candidate, Thresholds, find_candidates
from server.insights.exceptions import ExceptionReport, exception_report
from server.insights.outcomes import Outcome, OutcomeCounts
from server.insights.period import Period
from server.insights.roi import RoiReport, RoiSettings, load_roi_settings, roi_report, save_roi_settings

__all__ = [
    "Candidate",
    "ExceptionReport",
    "Outcome",
    "OutcomeCounts",
    "Period",
    "RoiReport",
    "RoiSettings",
    "Thresholds",
    "exception_report",
    "find_candidates",
    "load_roi_settings",
    "roi_report",
    "save_roi_settings",
]
