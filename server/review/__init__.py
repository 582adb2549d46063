"""The one place decision rules live; every surface that decides (page, JSON API, CLI, Slack) calls it."""

from server.review.channel import Channel, Via
from server.review.grounds import override_grounds
from server.review.preview import ToolPreview
from server.review.service import Approval, Proposal, ReviewService

__all__ = ["Approval", "Channel", "Proposal", "ReviewService", "ToolPreview", "Via", "override_grounds"]
