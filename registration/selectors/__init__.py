"""Reads of the registration app that pages share (HackSoft style: selectors read, services write),
one module per subdomain; the names pages use are re-exported here."""

from .guides import guide_page, guide_province  # noqa: F401
from .organizations import organization_home, organization_next_step  # noqa: F401
from .profiles import PROFILE_FIELDS, PROFILE_SECTIONS, profile_changes_since_approval, profile_review_context  # noqa: F401
from .roster import county_office  # noqa: F401
from .worker import EXPIRY_WARNING_DAYS, ce_tally, registration_state, worker_home  # noqa: F401
