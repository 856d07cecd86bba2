"""Registration services: every state change of the registration domain, one module per subdomain.

The worker-side services are re-exported here, so `from registration import services` and
`services.application_submit(...)` stay as they were; organizations (`services.organizations`) and the
guide pages (`services.guides`) are imported by module. Officials' decisions live in `registration.review`.
"""

from .applications import (  # noqa: F401
    MaterialSlot,
    application_material_attach,
    application_material_slots,
    application_materials_attach,
    application_save,
    application_start,
    application_submit,
    application_withdraw,
    ce_covered,
    required_materials,
)
from .ce import (  # noqa: F401
    ce_claim_submit,
)
from .changes import (  # noqa: F401
    profile_change_submit,
    region_change_submit,
)
from .common import (  # noqa: F401
    RegistrationError,
    _ensure_editable,
)
from .profiles import (  # noqa: F401
    profile_contact_update,
    profile_save,
    profile_submit,
    socialworker_signup,
)
from .registrations import (  # noqa: F401
    replacement_submit,
    restore_submit,
)
from .roster import (  # noqa: F401
    roster_correction_save,
    roster_correction_submit,
)
