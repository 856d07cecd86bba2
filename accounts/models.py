from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey
from mptt.querysets import TreeQuerySet
from simple_history.models import HistoricalRecords

from swms.encrypted_fields import EncryptedCharField, KeyedHashField
from swms.scoping import ScopedQuerySet


class RegionLevel(models.TextChoices):
    COUNTRY = "country", _("Country")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWN = "town", _("Town")
    VILLAGE = "village", _("Village")


# Administrative rank of each level; a node's level is stored, never derived from depth
# (北京 districts hang directly under the province, 东莞 towns directly under the city).
LEVEL_RANK = {
    RegionLevel.COUNTRY: 0,
    RegionLevel.PROVINCE: 1,
    RegionLevel.CITY: 2,
    RegionLevel.COUNTY: 3,
    RegionLevel.TOWN: 4,
    RegionLevel.VILLAGE: 5,
}

# The four municipalities directly under the central government (直辖市): province-level, but their
# civil-affairs office is a 民政局 like a city's, not a 民政厅 (GB/T 2260 codes 11, 12, 31, 50).
MUNICIPALITY_PREFIXES = frozenset({"11", "12", "31", "50"})


class RegionQuerySet(TreeQuerySet, ScopedQuerySet):
    region_path = ""

    def owned_by(self, user):
        # Division names and codes are public reference data: anyone signed in may pick from them.
        return self.all()


class RegionManager(TreeManager.from_queryset(RegionQuerySet)):
    pass


_PROVINCE_OF: dict[tuple, int | None] = {}


class Region(MPTTModel):
    """An administrative division (行政区划) with its 12-digit statistical code."""

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices, db_index=True)
    parent = TreeForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )

    objects = RegionManager()

    class MPTTMeta:
        order_insertion_by = ["code"]
        # `level` is the administrative level (stored, never derived from depth); mptt's own
        # depth counter gets another name.
        level_attr = "depth"

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name

    @property
    def short_code(self) -> str:
        """The code without its trailing zero groups (6 digits for counties, 9 for towns)."""
        if self.level in (RegionLevel.TOWN,):
            return self.code[:9]
        if self.level == RegionLevel.VILLAGE:
            return self.code
        return self.code[:6]

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    @property
    def is_municipality(self) -> bool:
        return self.level == RegionLevel.PROVINCE and self.code[:2] in MUNICIPALITY_PREFIXES

    @property
    def civil_affairs_office(self) -> str:
        """The name of this region's civil-affairs office, as certificates and letters print it.

        民政部 for the country, 民政厅 for a province or autonomous region, 民政局 for a municipality
        (北京市民政局), a city or a county; a town's civil affairs sit with its 街道办事处 or 人民政府.
        """
        if self.level == RegionLevel.COUNTRY:
            return "中华人民共和国民政部"
        if self.level == RegionLevel.PROVINCE and not self.is_municipality:
            return f"{self.name}民政厅"
        if self.level in (RegionLevel.TOWN, RegionLevel.VILLAGE):
            return f"{self.name}{'办事处' if self.name.endswith('街道') else '人民政府'}"
        return f"{self.name}民政局"

    def full_name(self) -> str:
        return "".join(a.name for a in self.get_ancestors(include_self=True) if a.level != RegionLevel.COUNTRY)

    def ancestor_at(self, level: str) -> "Region | None":
        """This region or its nearest ancestor of the given level (one query; None if there is none)."""
        if self.level == level:
            return self
        return (
            Region.objects.filter(tree_id=self.tree_id, lft__lt=self.lft, rght__gt=self.rght, level=level)
            .order_by("-lft")
            .first()
        )

    def province_pk(self) -> int | None:
        """The pk of the province whose subtree holds this region (its own pk at province level, the root of
        its tree where no province lies on its path); None for a region above the provinces. Memoized per
        process by the region's pk and tree numbers, so a region renumbered or moved by an import is looked
        up afresh."""
        if LEVEL_RANK[self.level] < LEVEL_RANK[RegionLevel.PROVINCE]:
            return None
        key = (self.pk, self.tree_id, self.lft, self.rght)
        if key not in _PROVINCE_OF:
            if self.level == RegionLevel.PROVINCE:
                found = self.pk
            else:
                path = Region.objects.filter(tree_id=self.tree_id, lft__lte=self.lft, rght__gte=self.rght)
                found = (path.filter(level=RegionLevel.PROVINCE).values_list("pk", flat=True).first()
                         or path.filter(parent__isnull=True).values_list("pk", flat=True).first())
            if len(_PROVINCE_OF) > 100_000:
                _PROVINCE_OF.clear()
            _PROVINCE_OF[key] = found
        return _PROVINCE_OF[key]

    def contains(self, other: "Region | None") -> bool:
        """True if `other` is this region or lies below it."""
        return (
            other is not None
            and other.tree_id == self.tree_id
            and self.lft <= other.lft
            and other.rght <= self.rght
        )


class UserKind(models.TextChoices):
    SOCIAL_WORKER = "social_worker", _("Social worker")
    ORGANIZATION = "organization", _("Organization")
    STATION = "station", _("Station")
    OFFICIAL = "official", _("Official")


class UserQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """As every scoped model; the security administrator (三员) sees every account: accounts are theirs."""
        from .operator_roles import MANAGE_ACCOUNTS, can

        if can(user, MANAGE_ACCOUNTS):
            return self.all()
        return super().visible_to(user)

    def owned_by(self, user):
        return self.filter(pk=user.pk)

    def officials(self):
        return self.filter(kind=UserKind.OFFICIAL)

    def manageable_by(self, user):
        """Accounts `user` may create, deactivate and reset: lower levels of their own subtree."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        from .operator_roles import MANAGE_ACCOUNTS, can

        if can(user, MANAGE_ACCOUNTS):
            return self.all()
        if user.is_official:
            return self.below(user.region)
        return self.none()


class SwmsUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class OperatorRole(models.TextChoices):
    """三员分立 (MLPS level 3, Z5): the operators' three roles, none able to do another's work."""

    SYSTEM = "system", _("System administrator")
    SECURITY = "security", _("Security administrator")
    AUDIT = "audit", _("Security auditor")


class User(AbstractUser):
    """Every account: social workers, organizations, stations and officials."""

    # Blank for operator (superuser) accounts, which hold no role in the region tree.
    kind = models.CharField(_("account type"), max_length=20, choices=UserKind.choices, blank=True, db_index=True)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    # Encrypted at rest, unique and looked up through the keyed hash beside each (swms.encrypted_fields).
    phone = EncryptedCharField(_("mobile phone"), max_length=20, blank=True, null=True)
    phone_hash = KeyedHashField(source="phone", unique=True)
    # Resident ID number, normalized (swms.ids.normalize_ric); login identifier for social workers.
    id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True, null=True)
    id_number_hash = KeyedHashField(source="id_number", unique=True)
    region = TreeForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("region"),
        help_text=_("The region an official is bound to; they see its whole subtree."),
    )
    # Operators (no kind, no region) hold one of the three roles; blank for everyone else.
    operator_role = models.CharField(_("operator role"), max_length=10, choices=OperatorRole.choices, blank=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    password_changed_at = models.DateTimeField(_("password changed at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SwmsUserManager()
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="official") | models.Q(region__isnull=False),
                name="official_has_region",
            ),
            # 三员分立 (Z5): an operator role is the account's only role — no kind, no region, not a superuser
            # (who would pass every check), a staff account (the admin is where operators work).
            models.CheckConstraint(
                condition=models.Q(operator_role="")
                | models.Q(kind="", region__isnull=True, is_superuser=False, is_staff=True),
                name="operator_role_alone",
            ),
        ]
        indexes = [
            # The officials of a region's subtree (workbench figures, officials list) among 150,000+
            # workers' accounts: a few thousand rows per province.
            models.Index(fields=["region"], condition=models.Q(kind="official"), name="user_official_region_idx"),
        ]

    def __str__(self):
        return self.full_name or self.username

    @property
    def is_official(self) -> bool:
        return self.kind == UserKind.OFFICIAL and self.region_id is not None

    @property
    def level(self) -> str | None:
        """An official's level is the level of their region."""
        return self.region.level if self.is_official else None

    def display_name(self) -> str:
        return self.full_name or self.username


class SecurityEvent(models.Model):
    """Security event log: who, when, from where, what, with which result (MLPS 安全审计)."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Login failed")
        LOCKOUT = "lockout", _("Account locked out")
        LOGOUT = "logout", _("Logout")
        SESSION_EXPIRED = "session_expired", _("Session expired")
        PASSWORD_CHANGE = "password_change", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset")
        PASSWORD_RESET_REQUEST = "password_reset_request", _("Password reset requested")
        ACCOUNT_CREATED = "account_created", _("Account created")
        ACCOUNT_DEACTIVATED = "account_deactivated", _("Account deactivated")
        ACCOUNT_ACTIVATED = "account_activated", _("Account activated")
        # An imported worker's account taken over (accounts/claim.py): each step, then the password set.
        ACCOUNT_CLAIM = "account_claim", _("Account claim step")
        ACCOUNT_CLAIMED = "account_claimed", _("Account claimed")
        # Second factor (A5) and re-authentication (A6).
        MFA_ENROLLED = "mfa_enrolled", _("Second factor enrolled")
        MFA_VERIFIED = "mfa_verified", _("Second factor verified")
        MFA_FAILED = "mfa_failed", _("Second factor failed")
        MFA_RESET = "mfa_reset", _("Second factor reset")
        BACKUP_CODES = "backup_codes", _("Backup codes generated")
        SMS_CODE_SENT = "sms_code_sent", _("SMS code sent")
        REAUTH = "reauth", _("Re-authenticated")
        REAUTH_FAILED = "reauth_failed", _("Re-authentication failed")
        # Personal data (P1): a full ID number shown, a list of personal data exported, a registry lookup.
        ID_REVEALED = "id_revealed", _("Full ID number shown")
        PI_EXPORT = "pi_export", _("Personal data exported")
        WORKER_LOOKUP = "worker_lookup", _("Registry lookup")
        RATE_LIMITED = "rate_limited", _("Rate limit reached")
        ACCESS_DENIED = "access_denied", _("Access denied")
        ROLE_CHANGED = "role_changed", _("Role changed")
        # Log keeping (L2, L3) and keys (P2).
        LOG_PURGE = "log_purge", _("Logs purged")
        KEY_ROTATION = "key_rotation", _("Keys rotated")

    kind = models.CharField(_("event"), max_length=30, choices=Kind.choices, db_index=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="security_events",
        verbose_name=_("account"),
    )
    # The identifier typed at login, kept for failed attempts on unknown accounts; an ID or mobile
    # number only masked, with its keyed hash beside it to correlate attempts (P1, L4).
    username = models.CharField(_("username"), max_length=150, blank=True)
    subject_hash = models.CharField(_("identifier hash"), max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    success = models.BooleanField(_("success"), default=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    # Hash chain (L2, P3): each row's SHA-256 covers its fields and the previous row's hash, so a row
    # changed or removed outside the application breaks `manage.py verify_audit_chain`.
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"


class UserSession(models.Model):
    """Which server-side sessions belong to which account, so that logout elsewhere, deactivation and
    password changes can end them without scanning the session store (S3)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("user session")
        verbose_name_plural = _("user sessions")

    def __str__(self):
        return f"{self.user_id}:{self.session_key[:6]}…"
