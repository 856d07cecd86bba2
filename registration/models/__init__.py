"""Registration of social workers' professional qualification (社会工作者职业水平证书登记).

Sources: the Xiamen registration manual (profile, draft/submit, histories) and the Beijing
社工人才服务系统 manual (four registration kinds, materials, windows, review, messages).

One module per subdomain; everything is re-exported here so `from registration.models import X`
stays the import everywhere.
"""

from .applications import (  # noqa: F401
    APPLICATION_WORKFLOW,
    DEFAULT_PICKUP,
    ApplicationMaterial,
    ApplicationQuerySet,
    MaterialKind,
    Pickup,
    RegistrationApplication,
    RegistrationKind,
    RegistrationWindow,
    RegistrationWindowQuerySet,
)
from .ce import (  # noqa: F401
    CEClaim,
    CEClaimQuerySet,
    CERecord,
    CERecordQuerySet,
    Courseware,
    CoursewareQuerySet,
    courseware_chain,
)
from .changes import (  # noqa: F401
    ProfileChangeQuerySet,
    ProfileChangeRequest,
    RegionChangeQuerySet,
    RegionChangeRequest,
)
from .common import (  # noqa: F401
    county_check_workflow,
)
from .guides import (  # noqa: F401
    GuideKind,
    GuidePage,
)
from .organizations import (  # noqa: F401
    Organization,
    OrganizationQuerySet,
    OrganizationStaff,
)
from .profiles import (  # noqa: F401
    PROFILE_WORKFLOW,
    Education,
    Gender,
    MaritalStatus,
    PoliticalStatus,
    Position,
    PracticeDomain,
    SocialWorker,
    SocialWorkerQuerySet,
)
from .registrations import (  # noqa: F401
    Certificate,
    CertificateLookup,
    CertificateQuerySet,
    Registration,
    RegistrationPolicy,
    RegistrationQuerySet,
    ReplacementQuerySet,
    ReplacementRequest,
    RestoreApplication,
    RestoreQuerySet,
    _certificate_token,
)
from .roster import (  # noqa: F401
    CE_HOURS_REQUIRED,
    REGISTRATION_YEARS,
    Qualification,
    QualificationLevel,
    RosterCorrectionQuerySet,
    RosterCorrectionRequest,
)
