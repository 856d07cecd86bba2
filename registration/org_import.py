"""Legacy import of social work service organizations (社会工作服务机构, `manage.py import_organizations`).

The organizations on such a list were registered with the civil-affairs bureau already, so they arrive
approved: the workflow has no system action for "approved elsewhere", and an approval by the review steps
would need reviewers acting in the name of the import. The status is therefore set on creation
(APPROVED, decided now, the review chain of the region stored as a submission would store it), and the
history row of each organization says it was imported (change reason "import"). No review log row is
written: nobody reviewed it in SWMS, and the review statistics must not count it.

Each organization gets an account like the online sign-up's (kind organization, its region, its name, its
mobile number as a login identifier when it is a free mobile number), with the credit code as user name and
no usable password: nobody can log in until an official of its region resets the password on the
organization's page (accounts.services.subject_password_reset: a one-time password, changed at the first
login). Until the account has been used, a re-import may correct the organization's data; after that the
organization keeps its data itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Region, User, UserKind
from stations.imports import (
    BATCH,
    DOMAINS_HELP,
    IMPORT_REASON,
    date_cell,
    domains_cell,
    finish_report,
    in_batches,
    inside,
    phone_cell,
    reason_of,
    required_text,
    tick,
)
from swms.import_values import Column, ImportValueError, clean
from swms.imports import ImportKind, RegionLookup, register
from swms.workflow import NoReviewAuthority, State
from swms.xlsx_import import ImportReport, cells, read_table

from .models import Organization
from .services.organizations import MOBILE_RE, ORGANIZATION_REGION_LEVELS, validate_uscc

C = {c.key: c for c in [
    Column("uscc", ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码"), as_text=True,
           help=gettext_lazy("The 18-character unified social credit code on the registration certificate; it "
                             "becomes the organization's user name."), example="52440104MJL6031851"),
    Column("name", ("机构名称", "组织名称", "单位名称", "名称"), help=gettext_lazy("As registered."),
           example="越秀区阳光社会工作服务中心"),
    Column("legal_representative", ("法定代表人", "法人代表", "法人"), example="李明",
           help=gettext_lazy("The legal representative's name.")),
    Column("region", ("所在地区", "住所所在地区", "行政区划", "地区"),
           help=gettext_lazy("The county (district) or town (street) where the organization is seated: its "
                             "division code, or its name with the names above it (广州市越秀区)."),
           example="广州市越秀区"),
    Column("address", ("住所", "地址", "办公地址", "详细地址"), help=gettext_lazy("The registered address."),
           example="广州市越秀区中山五路 1 号"),
    Column("contact_person", ("联系人",), help=gettext_lazy("Who to contact at the organization."), example="陈晓"),
    Column("contact_phone", ("联系电话", "联系人电话", "手机号码", "电话"), as_text=True,
           help=gettext_lazy("A mobile number is also the account's login name and receives its text messages, "
                             "unless another account has it."), example="13800138001"),
    Column("founded_on", ("成立日期", "成立时间", "登记日期"), required=False, example="2015-06-01",
           help=gettext_lazy("The date of registration.")),
    Column("registration_authority", ("登记管理机关", "登记机关"), example="广州市越秀区民政局",
           help=gettext_lazy("The civil-affairs bureau that registered the organization.")),
    Column("service_domains", ("服务领域",), required=False, help=DOMAINS_HELP, example="养老服务、儿童福利、社区治理"),
]}
COLUMNS = list(C.values())
FIELDS = ("name", "legal_representative", "region", "address", "contact_person", "contact_phone", "founded_on",
          "registration_authority", "service_domains")


def _row(cell, lookup) -> dict:
    uscc_raw = clean(cell["uscc"])
    if not uscc_raw:
        raise ImportValueError(_("%(column)s is empty") % {"column": C["uscc"].labels[0]})
    try:
        uscc = validate_uscc(uscc_raw)
    except ValidationError as e:
        raise ImportValueError(_("credit code %(code)s: %(error)s") % {
            "code": uscc_raw, "error": " ".join(str(m) for m in e.messages)}) from None
    try:
        region = lookup(cell["region"])
    except ImportValueError as e:
        raise ImportValueError(_("region: %(error)s") % {"error": e}) from None
    if region.level not in ORGANIZATION_REGION_LEVELS:
        raise ImportValueError(_("region: an organization is seated in a county (district) or town (street), not "
                                 "in %(region)s") % {"region": region.name})
    values = {
        "uscc": uscc,
        "region": region,
        "name": required_text(cell["name"], C["name"], 200),
        "legal_representative": required_text(cell["legal_representative"], C["legal_representative"], 50),
        "address": required_text(cell["address"], C["address"], 200),
        "contact_person": required_text(cell["contact_person"], C["contact_person"], 50),
        "contact_phone": phone_cell(cell["contact_phone"], C["contact_phone"]),
        "registration_authority": required_text(cell["registration_authority"], C["registration_authority"], 100),
    }
    if not values["contact_phone"]:
        raise ImportValueError(_("%(column)s is empty") % {"column": C["contact_phone"].labels[0]})
    founded_on = date_cell(cell.get("founded_on"), C["founded_on"])
    if founded_on:
        values["founded_on"] = founded_on
    domains = domains_cell(cell.get("service_domains"), C["service_domains"])
    if domains:
        values["service_domains"] = domains
    return values


def organizations_import(*, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                         scope: Region | None = None, actor: User | None = None, **options) -> ImportReport:
    """Create approved organizations with login-less accounts from a civil-affairs list; see the module
    docstring."""
    path = Path(path)
    table = read_table(path, COLUMNS)
    report = ImportReport(dry_run=dry_run)
    lookup = RegionLookup(scope)
    rows, first_line = [], {}
    for line, raw in table.rows:
        report.read += 1
        try:
            values = _row(cells(raw, table.columns), lookup)
            if values["uscc"] in first_line:
                raise ImportValueError(_("credit code %(code)s already appears on row %(line)d") % {
                    "code": values["uscc"], "line": first_line[values["uscc"]]})
        except ImportValueError as e:
            report.errors.append((line, list(raw), reason_of(e)))
            tick(report, table, progress)
            continue
        first_line[values["uscc"]] = line
        rows.append((line, raw, values))
        tick(report, table, progress)

    usccs = [values["uscc"] for *_x, values in rows]
    existing = in_batches(Organization.objects.select_related("account", "region"), "uscc", usccs)
    usernames = set(in_batches(User.objects.only("username"), "username", usccs))
    mobiles = {v["contact_phone"] for *_x, v in rows if MOBILE_RE.match(v["contact_phone"])}
    phone_owner = {u.phone: u.pk for u in in_batches(User.objects.only("phone"), "phone", mobiles).values()}
    chains: dict[int, tuple] = {}

    accounts, organizations, to_update, changed_fields, accounts_changed = [], [], [], set(), []
    now = timezone.now()
    for line, raw, values in rows:
        uscc = values["uscc"]
        organization = existing.get(uscc)
        if organization is not None:
            if not inside(scope, organization.region):
                report.errors.append((line, list(raw), _(
                    "%(org)s is registered in %(region)s, outside the regions you administer") % {
                    "org": organization.name, "region": organization.region.name}))
                continue
            changed = [f for f in FIELDS if f in values and getattr(organization, f) != values[f]]
            if not changed:
                report.unchanged += 1
                continue
            if organization.status != State.APPROVED:
                report.errors.append((line, list(raw), _(
                    "%(org)s signed up in SWMS and its registration is “%(state)s”: it is decided in the review "
                    "queue, not by an import") % {"org": organization.name, "state": State(organization.status).label}))
                continue
            if organization.account.last_login is not None:
                report.errors.append((line, list(raw), _(
                    "%(org)s keeps its own data in SWMS (its account is in use): it differs from this row in "
                    "%(fields)s; ask the organization to correct it") % {
                    "org": organization.name,
                    "fields": "、".join(str(Organization._meta.get_field(f).verbose_name) for f in changed)}))
                continue
            for f in changed:
                setattr(organization, f, values[f])
            changed_fields.update(changed)
            to_update.append(organization)
            account = organization.account
            account.full_name, account.region = organization.name[:100], organization.region
            accounts_changed.append(account)
            continue
        if uscc in usernames:
            report.errors.append((line, list(raw), _(
                "an account with the user name %(code)s exists already, but no organization has this credit code")
                % {"code": uscc}))
            continue
        region = values["region"]
        if region.pk not in chains:
            try:
                chain = Organization.workflow.chain(region)
            except NoReviewAuthority as e:  # a region with no city or province above it
                report.errors.append((line, list(raw), reason_of(e)))
                continue
            chains[region.pk] = (chain.initial, chain.final)
        initial, final = chains[region.pk]
        phone = values["contact_phone"]
        if not MOBILE_RE.match(phone):
            phone = None
        elif phone in phone_owner:
            report.notes.append((line, _("the mobile number %(phone)s belongs to another account: the organization's "
                                         "account was made without it") % {"phone": phone}))
            phone = None
        else:
            phone_owner[phone] = 0  # taken by this row's account
        account = User(username=uscc, kind=UserKind.ORGANIZATION, region=region, phone=phone,
                       full_name=values["name"][:100], must_change_password=True, created_by=actor)
        account.set_unusable_password()
        accounts.append(account)
        organizations.append(Organization(
            **values, status=State.APPROVED, initial_region=initial, final_region=final, decided_at=now,
            created_at=now))
    report.created, report.updated = len(organizations), len(to_update)

    if not dry_run and (organizations or to_update):
        history = {"default_user": actor, "default_change_reason": IMPORT_REASON, "batch_size": BATCH}
        with transaction.atomic():
            bulk_create_with_history(accounts, User, **history)
            for account, organization in zip(accounts, organizations, strict=True):
                organization.account = account
            bulk_create_with_history(organizations, Organization, **history)
            if to_update:
                bulk_update_with_history(to_update, Organization, sorted(changed_fields), **history)
                User.objects.bulk_update(accounts_changed, ["full_name", "region"], batch_size=BATCH)
    return finish_report(report, path, table, progress)


register(ImportKind(
    key="organizations",
    label=gettext_lazy("Social work service organizations"),
    columns=COLUMNS,
    run=organizations_import,
    description=gettext_lazy(
        "Organizations registered with the civil-affairs bureau, one row per organization; they are imported "
        "as approved. Each gets an account named by its credit code, without a password: an official of its "
        "region resets the password on the organization's page and gives it to the organization, which must "
        "change it at the first login. Import the organizations before the stations they operate."),
    natural_key=gettext_lazy("a row is the same organization again by its unified social credit code"),
    command="import_organizations",
))
