"""Import of the registrations made before this system (`manage.py import_registrations`, issue #15).

Provinces kept years of registrations in Excel: one row per registration of a worker. The import makes of
them what the online path would have made, keyed by natural keys so that a re-run changes nothing:

- the exam roster row (`Qualification`, by certificate management number) when the roster lacks it;
- the worker's account (by ID number; the username is the ID number, as at sign-up) with an unusable
  password: nobody can log in until the worker claims it (accounts/claim.py);
- the worker's profile, name and ID number locked as from the roster, gender and birth date read from the
  ID number, mobile, work region and employer from the newest registration. It stays a draft, so that the
  worker completes it (photo, education, ...) and it is reviewed with their next application, as for
  anyone who signed up; an approved profile with those fields empty could not be edited without asking
  the county first, and no renewal starts from an incomplete profile;
- the registrations (by registration number) with no application, marked `imported`, with the issuing
  office; then the registry's stored fields (current registration, CE hours) and the statistics.

A row contradicting what is stored (its registration number or certificate belongs to another person, the
roster or the system knows the person under another name, ...) is reported with its reason and never
blocks the others. Accounts already claimed or signed up online keep their profile: the import only adds
their registrations. Everything is read in a few queries per 2,000 keys and written in bulk.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, is_password_usable
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Region, RegionLevel, User, UserKind
from accounts.usernames import worker_username
from reports import aggregates
from swms.import_values import Column, ImportValueError, clean, parse_date, parse_id_number, parse_year
from swms.imports import ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, RegionLookup, register
from swms.pii import mask_id_number
from swms.workflow import State
from swms.xlsx_import import ImportReport, cells, read_table, write_error_workbook

from .models import Gender, Qualification, Registration, RegistrationKind, SocialWorker
from .roster_import import LEVEL_NAMES
from .services.registry import registry_refresh

COLUMNS = [
    Column("name", ("姓名",), help=gettext_lazy("As on the ID card."), example="张三"),
    Column("id_number", ID_NUMBER_LABELS, help=ID_NUMBER_HELP, example="440104199001011232", as_text=True),
    Column("mobile", ("手机号码", "手机号", "手机", "移动电话", "联系电话"), required=False,
           help=gettext_lazy("11 digits. The worker receives the code to claim the account at this number; "
                             "without one they claim it with their registration and certificate numbers."),
           example="13800138000", as_text=True),
    Column("level", ("证书级别", "级别", "资格级别", "职业水平等级"),
           help=gettext_lazy("助理社会工作师, 社会工作师 or 高级社会工作师."), example="社会工作师"),
    Column("certificate_no", ("证书管理号", "管理号", "证书管理号码", "职业水平证书管理号"),
           help=gettext_lazy("The certificate management number of the exam qualification certificate; the "
                             "worker's roster row is created if the roster lacks it."),
           example="2023035440000123", as_text=True),
    Column("registration_no", ("登记证书编号", "登记编号", "登记证号", "登记证书号", "登记证编号"),
           help=gettext_lazy("The number of the registration certificate; unique."),
           example="2024440104000123", as_text=True),
    Column("kind", ("登记类型", "登记类别", "登记种类"),
           help=gettext_lazy("首次登记, 再登记 (续期), 逾期登记 (补登记) or 补证."), example="首次登记"),
    Column("valid_from", ("有效期起", "有效期开始", "有效期自", "有效期起始日期", "登记日期"),
           help=gettext_lazy("The first day of validity."), example="2024-06-01"),
    Column("valid_to", ("有效期止", "有效期至", "有效期结束", "有效期截止日期", "到期日期"),
           help=gettext_lazy("The last day of validity."), example="2027-05-31"),
    Column("office", ("登记机关", "登记机构", "发证机关", "登记部门"),
           help=gettext_lazy("The civil-affairs office that made the registration, e.g. 广州市民政局."),
           example="广州市民政局"),
    Column("status", ("登记状态", "状态"),
           help=gettext_lazy("有效, 已过期, 冻结 or 已注销. A registration past its end date may stay 有效: the "
                             "system shows it as expired."), example="有效"),
    Column("region", ("执业地区", "执业区域", "工作地区", "所在地区"),
           help=gettext_lazy("Where the worker works: the name of the town or county with the names above it "
                             "(广州市越秀区洪桥街道), or its division code."), example="广州市越秀区洪桥街道"),
    Column("employer", ("工作单位", "执业机构", "所在单位", "单位名称"), required=False,
           help=gettext_lazy("The worker's employer."), example="广州市越秀区阳光社会工作服务中心"),
    Column("exam_year", ("考试年度", "考试年份"), required=False,
           help=gettext_lazy("The year of the exam, used only when the roster lacks the certificate; empty: the "
                             "year the first registration began."), example=2023),
]

# The names people write for the registration kinds (the system's own words first).
KIND_NAMES = {
    RegistrationKind.FIRST: ("首次登记", "首登记", "首次", "初次登记", "初始登记", "首次注册", "新登记"),
    RegistrationKind.RENEWAL: ("再登记", "再登记(续期)", "续期", "续期登记", "延续登记", "延续", "再注册",
                               "续展登记", "续展"),
    RegistrationKind.LATE: ("逾期登记", "补登记", "逾期补登记", "逾期再登记", "逾期"),
    RegistrationKind.REISSUE: ("补证", "补发证书", "补发", "补办证书", "补换证", "换证", "补证登记"),
}
KINDS = {name: kind for kind, names in KIND_NAMES.items() for name in names} | {k.value: k for k in RegistrationKind}

# The stored statuses; "expired" is no status of its own: a valid registration past its end date.
EXPIRED = "expired"
STATUS_NAMES = {
    Registration.Status.VALID: ("有效", "正常", "在册", "已登记", "登记有效"),
    EXPIRED: ("已过期", "过期", "已到期", "到期", "失效", "已失效"),
    Registration.Status.FROZEN: ("冻结", "已冻结", "暂停", "暂停执业"),
    Registration.Status.REVOKED: ("已注销", "注销", "撤销", "已撤销", "吊销", "已吊销"),
}
STATUSES = {name: status for status, names in STATUS_NAMES.items() for name in names} | {
    s.value: s for s in Registration.Status} | {EXPIRED: EXPIRED}

BATCH = 2000
PROGRESS_EVERY = 5000
REGISTRATION_FIELDS = ("kind", "level", "qualification", "region", "valid_from", "valid_to", "status",
                       "issuing_office", "created_at")
# What a registration made in this system must agree with (it has no office of its own, and its created_at
# is the approval's).
SYSTEM_FIELDS = ("kind", "level", "qualification", "region", "valid_from", "valid_to", "status")
CHANGE_REASON = "legacy import"
# The imported profile is a draft the worker completes; see the module docstring.
IMPORTED_PROFILE_STATUS = State.DRAFT
_DOTS = str.maketrans({"•": "·", "‧": "·", "・": "·", "．": "·", ".": "·", "∙": "·"})


def name_key(value) -> str:
    """A name as compared: full-width forms folded, no spaces, one kind of middle dot (维吾尔族 names)."""
    return clean(value).replace(" ", "").translate(_DOTS)


def plain_text(value) -> str:
    """Free text (an employer, an office) trimmed and its white space made single, but otherwise as written:
    `clean`'s NFKC would turn the full-width brackets of Chinese organization names into ASCII ones."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def person_name(value) -> str:
    """A name as stored: cleaned, and a Chinese name without the spaces people put between its characters."""
    name = clean(value)
    return name.replace(" ", "") if re.search(r"[\u3400-\u9fff]", name) else name


def mobile_number(value) -> str:
    """An 11-digit mainland mobile number from what people type (spaces, dashes, +86), or ""."""
    digits = re.sub(r"[\s\-()]", "", clean(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if re.fullmatch(r"1\d{10}", digits) else ""


def _in_words(names) -> str:
    return "、".join(names)


@dataclass
class Row:
    line: int
    raw: list
    name: str
    id_number: str
    mobile: str
    level: str
    certificate_no: str
    registration_no: str
    kind: str
    valid_from: datetime.date
    valid_to: datetime.date
    office: str
    status: str
    region: Region
    employer: str
    exam_year: int | None

    @property
    def order(self):
        """Rows of one worker from oldest to newest registration."""
        return (self.valid_to, self.valid_from, self.line)


def _parse(line: int, raw: list, cell: dict, regions: RegionLookup, today: datetime.date) -> tuple[Row, list[str]]:
    """One row's values, or ValidationError with every reason; also the notes (what was changed on reading)."""
    problems, notes = [], []

    def value(key, parse):
        try:
            return parse(cell.get(key))
        except ImportValueError as e:
            problems.append(str(e))
        except ValidationError as e:
            problems.append(" ".join(e.messages))
        return None

    name = person_name(cell["name"])
    if not name:
        problems.append(_("the name is empty"))
    id_number = value("id_number", parse_id_number)
    if id_number is not None and id_number.converted_from:
        notes.append(_("15-digit ID number %(old)s converted to %(new)s")
                     % {"old": id_number.converted_from, "new": id_number.value})
    written_mobile = clean(cell.get("mobile"))
    mobile = mobile_number(written_mobile)
    if written_mobile and not mobile:
        notes.append(_("%(value)s is not an 11-digit mobile number and was left out") % {"value": written_mobile})
    level = LEVEL_NAMES.get(clean(cell["level"]).replace(" ", ""))
    if level is None:
        problems.append(_("unknown level %(value)s (write 助理社会工作师, 社会工作师 or 高级社会工作师)")
                        % {"value": clean(cell["level"]) or "—"})
    certificate_no = clean(cell["certificate_no"]).replace(" ", "")
    if not certificate_no:
        problems.append(_("the certificate management number is empty"))
    registration_no = clean(cell["registration_no"]).replace(" ", "")
    if not registration_no:
        problems.append(_("the registration number is empty"))
    elif len(registration_no) > Registration._meta.get_field("registration_no").max_length:
        problems.append(_("the registration number %(no)s is too long") % {"no": registration_no})
    written_kind = clean(cell["kind"]).replace(" ", "")
    kind = KINDS.get(written_kind) or KINDS.get(written_kind.split("(")[0])
    if kind is None:
        problems.append(_("unknown registration kind %(value)s (write %(names)s)")
                        % {"value": written_kind or "—", "names": _in_words(n[0] for n in KIND_NAMES.values())})
    valid_from = value("valid_from", parse_date)
    valid_to = value("valid_to", parse_date)
    if valid_from and valid_to and valid_to < valid_from:
        problems.append(_("the validity ends (%(end)s) before it begins (%(start)s)")
                        % {"start": valid_from.isoformat(), "end": valid_to.isoformat()})
    office = plain_text(cell["office"])
    if not office:
        problems.append(_("the registration office is empty"))
    elif len(office) > Registration._meta.get_field("issuing_office").max_length:
        problems.append(_("the registration office is too long"))
    written_status = clean(cell["status"]).replace(" ", "")
    status = STATUSES.get(written_status)
    if status is None:
        problems.append(_("unknown registration status %(value)s (write %(names)s)")
                        % {"value": written_status or "—", "names": _in_words(n[0] for n in STATUS_NAMES.values())})
    elif status == EXPIRED:
        if valid_to and valid_to >= today:
            problems.append(_("the status says expired, but the registration is valid until %(date)s")
                            % {"date": valid_to.isoformat()})
        status = Registration.Status.VALID
    region = value("region", regions)
    employer = plain_text(cell.get("employer"))[:200]
    exam_year = None
    if clean(cell.get("exam_year")):
        exam_year = value("exam_year", parse_year)
        if exam_year is not None and not 2008 <= exam_year <= today.year:
            problems.append(_("the exam year %(year)d is out of range") % {"year": exam_year})
    if problems:
        raise ValidationError("; ".join(problems))
    return Row(line, raw, name, id_number.value, mobile, level, certificate_no, registration_no, kind, valid_from,
               valid_to, office, status, region, employer, exam_year), notes


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), BATCH):
        yield values[start:start + BATCH]


class _Provinces:
    """The province of a region from one query for every province (for a new roster row's issuing province)."""

    def __init__(self):
        self.rows = list(Region.objects.filter(level=RegionLevel.PROVINCE).values("name", "tree_id", "lft", "rght"))

    def name_of(self, region: Region) -> str:
        for p in self.rows:
            if p["tree_id"] == region.tree_id and p["lft"] <= region.lft and region.rght <= p["rght"]:
                return p["name"]
        return ""


def _start_of(day: datetime.date) -> datetime.datetime:
    """An imported registration counts as made on its first day (the statistics' registrations by month)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def registrations_import(
    *, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None, scope=None, actor=None
) -> ImportReport:
    """Validate and import a legacy registration register; see the module docstring. With a `scope` (an
    office's region) rows whose work region lies outside it are refused; `actor` (who uploaded the file) is
    written as the author of the profiles' and registrations' history rows."""
    path = Path(path)
    table = read_table(path, COLUMNS)
    report = ImportReport(dry_run=dry_run)
    total = len(table.rows)
    today = timezone.localdate()
    regions = RegionLookup(scope)
    errors: list[tuple[int, list, str]] = report.errors

    # 1. Every row on its own, then against the rows before it in the file.
    rows: list[Row] = []
    first_registration: dict[str, int] = {}
    certificate_owner: dict[str, tuple[str, int]] = {}
    person: dict[str, tuple[str, int]] = {}
    for line, raw in table.rows:
        report.read += 1
        try:
            row, notes = _parse(line, list(raw), cells(raw, table.columns), regions, today)
            if row.registration_no in first_registration:
                raise ValidationError(_("registration number %(no)s already appears on row %(line)d")
                                      % {"no": row.registration_no, "line": first_registration[row.registration_no]})
            owner = certificate_owner.get(row.certificate_no)
            if owner is not None and owner[0] != row.id_number:
                raise ValidationError(_("certificate management number %(no)s belongs to another ID number on row "
                                        "%(line)d") % {"no": row.certificate_no, "line": owner[1]})
            known = person.get(row.id_number)
            if known is not None and name_key(known[0]) != name_key(row.name):
                raise ValidationError(_("the same ID number has the name %(name)s on row %(line)d")
                                      % {"name": known[0], "line": known[1]})
        except ValidationError as e:
            errors.append((line, list(raw), " ".join(e.messages)))
            continue
        report.notes.extend((line, note) for note in notes)
        first_registration[row.registration_no] = line
        certificate_owner.setdefault(row.certificate_no, (row.id_number, line))
        person.setdefault(row.id_number, (row.name, line))
        rows.append(row)
        if progress and report.read % PROGRESS_EVERY == 0:
            progress(report.read, total)

    # 2. What is stored under the file's keys: a few queries per 2,000 keys.
    qualifications: dict[str, Qualification] = {}
    for chunk in _chunks({r.certificate_no for r in rows}):
        for q in Qualification.objects.filter(certificate_no__in=chunk):
            qualifications[q.certificate_no] = q
    ids = {r.id_number for r in rows}
    workers: dict[str, SocialWorker] = {}
    other_accounts: set[str] = set()
    for chunk in _chunks(ids):
        for w in (SocialWorker.objects.filter(id_number__in=chunk).select_related("user", "current_registration")
                  .defer(*[f"user__{f.name}" for f in User._meta.concrete_fields
                           if f.name not in ("id", "password", "is_active", "phone")])
                  .defer(*[f"current_registration__{f.name}" for f in Registration._meta.concrete_fields
                           if f.name not in ("id", "valid_to")])):
            workers[w.id_number] = w
        for user_id_number, username in User.objects.filter(Q(id_number__in=chunk) | Q(username__in=chunk)) \
                .exclude(social_worker__isnull=False).values_list("id_number", "username"):
            other_accounts.update({user_id_number, username})
    existing: dict[str, Registration] = {}
    for chunk in _chunks(first_registration):
        for reg in (Registration.objects.filter(registration_no__in=chunk).select_related("worker", "region")
                    .only(*[f.name for f in Registration._meta.concrete_fields], "worker__id_number",
                          "region__tree_id", "region__lft", "region__rght")):
            existing[reg.registration_no] = reg
    phones_taken: dict[str, int] = {}
    for chunk in _chunks({r.mobile for r in rows if r.mobile}):
        phones_taken.update(User.objects.filter(phone__in=chunk).values_list("phone", "pk"))

    # 3. Each row against what is stored.
    accepted: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        reason = _contradiction(row, qualifications, workers, other_accounts, existing, scope)
        if reason:
            errors.append((row.line, row.raw, reason))
        else:
            accepted[row.id_number].append(row)

    # 4. What to write, worker by worker.
    plan = _Plan(actor)
    provinces = _Provinces()
    for id_number, group in accepted.items():
        group.sort(key=lambda r: r.order)
        plan.worker(id_number, group, workers.get(id_number), qualifications, existing, phones_taken, provinces,
                    report)
    report.created, report.updated = len(plan.rows_created), len(plan.rows_updated - plan.rows_created)
    report.unchanged = report.read - len(errors) - report.created - report.updated
    if not dry_run:
        plan.write()
    if progress:
        progress(report.read, total)
    errors.sort(key=lambda e: e[0])
    report.notes.sort(key=lambda n: n[0])
    report.error_file = write_error_workbook(path, table.header, errors)
    return report


def _contradiction(row: Row, qualifications, workers, other_accounts, existing, scope) -> str:
    """Why the row contradicts what is stored, or ""."""
    qualification = qualifications.get(row.certificate_no)
    if qualification is not None:
        if qualification.id_number != row.id_number:
            return _("certificate management number %(no)s belongs to another person in the exam roster (%(id)s)") % {
                "no": row.certificate_no, "id": mask_id_number(qualification.id_number)}
        if qualification.level != row.level:
            return _("the exam roster has certificate %(no)s at the level %(level)s") % {
                "no": row.certificate_no, "level": qualification.get_level_display()}
        if name_key(qualification.name) != name_key(row.name):
            return _("the exam roster has certificate %(no)s under the name %(name)s") % {
                "no": row.certificate_no, "name": qualification.name}
    worker = workers.get(row.id_number)
    if worker is None and row.id_number in other_accounts:
        return _("another account already uses this ID number and has no social worker profile; ask the system "
                 "operator to check it")
    if worker is not None and name_key(worker.name) != name_key(row.name):
        return _("the system has this ID number under the name %(name)s") % {"name": worker.name}
    registration = existing.get(row.registration_no)
    if registration is not None:
        if registration.worker.id_number != row.id_number:
            return _("registration number %(no)s belongs to another person (%(id)s)") % {
                "no": row.registration_no, "id": mask_id_number(registration.worker.id_number)}
        if scope is not None and not scope.contains(registration.region):
            return _("registration number %(no)s was made outside the regions you administer") % {
                "no": row.registration_no}
        if qualification is None or registration.qualification_id != qualification.pk:
            return _("registration number %(no)s is stored with another certificate management number") % {
                "no": row.registration_no}
        if not registration.imported and _differences(registration, _registration_values(row, qualification),
                                                      SYSTEM_FIELDS):
            return _("registration number %(no)s was made in this system and differs from the row; the import "
                     "does not change it") % {"no": row.registration_no}
    return ""


def _registration_values(row: Row, qualification) -> dict:
    return {"kind": row.kind, "level": row.level, "qualification": qualification, "region": row.region,
            "valid_from": row.valid_from, "valid_to": row.valid_to, "status": row.status,
            "issuing_office": row.office, "created_at": _start_of(row.valid_from)}


def _differences(registration: Registration, values: dict, fields) -> list[str]:
    """The fields whose stored value differs (foreign keys compared by id: no query)."""
    changed = []
    for field in fields:
        value = values[field]
        if field in ("qualification", "region"):
            if getattr(registration, f"{field}_id") != value.pk:
                changed.append(field)
        elif getattr(registration, field) != value:
            changed.append(field)
    return changed


class _Plan:
    """The rows to create and update, gathered worker by worker, written in bulk by `write`."""

    def __init__(self, actor=None):
        self.actor = actor
        self.qualifications: list[Qualification] = []
        self.users: list[User] = []
        self.new_workers: list[SocialWorker] = []
        self.changed_workers: list[SocialWorker] = []
        self.changed_users: list[User] = []
        self.new_registrations: list[Registration] = []
        self.changed_registrations: list[Registration] = []
        self.rows_created: set[int] = set()
        self.rows_updated: set[int] = set()
        self.phones_used: set[str] = set()
        self.registration_regions: set[int] = set()
        self.work_regions: set[int] = set()
        self.existing_workers: set[int] = set()  # existing workers something is written for

    def _phone_for(self, mobile: str, phones_taken: dict, user_pk=None) -> str | None:
        """The mobile as the account's login phone when no other account has it (it is unique)."""
        if not mobile or mobile in self.phones_used or phones_taken.get(mobile, user_pk) != user_pk:
            return None
        self.phones_used.add(mobile)
        return mobile

    def worker(self, id_number, group: list[Row], worker, qualifications, existing, phones_taken, provinces, report):
        newest = group[-1]
        mobile = next((r.mobile for r in reversed(group) if r.mobile), "")
        employer = next((r.employer for r in reversed(group) if r.employer), "")
        if worker is None:
            # Unusable as set_unusable_password() makes it ("!" and 40 random characters), from one urandom call
            # instead of 40 secrets.choice calls: a tenth of the import's Python time at 100,000 rows.
            user = User(username=worker_username(), kind=UserKind.SOCIAL_WORKER, id_number=id_number, full_name=newest.name,
                        phone=self._phone_for(mobile, phones_taken),
                        password=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20))
            if mobile and user.phone is None:
                report.notes.append((newest.line, _("mobile %(mobile)s is another account's login number: kept in "
                                                    "the profile only") % {"mobile": mobile}))
            self.users.append(user)
            worker = SocialWorker(
                user=user, name=newest.name, id_number=id_number, roster_locked=True, status=IMPORTED_PROFILE_STATUS,
                birth_date=datetime.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),  # checked
                gender=Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE,
                mobile=mobile, work_region=newest.region, employer=employer,
            )
            self.new_workers.append(worker)
            self.work_regions.add(newest.region.pk)
        else:
            old_region = worker.work_region_id
            if self._refresh_profile(worker, newest, mobile, employer, phones_taken):
                self.rows_updated.add(newest.line)
                self.existing_workers.add(worker.pk)
                self.work_regions.update({old_region, worker.work_region_id})
        for row in group:
            qualification = qualifications.get(row.certificate_no)
            if qualification is None:
                exam_year = row.exam_year or min(r.valid_from.year for r in group
                                                 if r.certificate_no == row.certificate_no)
                qualification = qualifications[row.certificate_no] = Qualification(
                    id_number=id_number, name=row.name, level=row.level, certificate_no=row.certificate_no,
                    exam_year=exam_year, issuing_province=provinces.name_of(row.region),
                )
                self.qualifications.append(qualification)
            values = _registration_values(row, qualification)
            registration = existing.get(row.registration_no)
            if registration is None:
                self.new_registrations.append(Registration(
                    worker=worker, registration_no=row.registration_no, imported=True, **values))
                self.rows_created.add(row.line)
                self.registration_regions.add(row.region.pk)
            elif registration.imported and _differences(registration, values, REGISTRATION_FIELDS):
                self.registration_regions.update({registration.region_id, row.region.pk})
                for f, v in values.items():
                    setattr(registration, f, v)
                self.changed_registrations.append(registration)
                self.rows_updated.add(row.line)
            else:
                continue
            if worker.pk is not None:
                # A new or changed registration may change the worker's current one: their region's stock.
                self.existing_workers.add(worker.pk)
                self.work_regions.add(worker.work_region_id)

    def _refresh_profile(self, worker, newest: Row, mobile, employer, phones_taken) -> bool:
        """An unclaimed imported worker's profile follows the register (mobile, work region, employer) when
        the file's newest registration is at least as recent as the stored one. A claimed account or one
        signed up online is the worker's own: only registrations are added to it."""
        user = worker.user
        if is_password_usable(user.password) or not user.is_active:
            return False
        current = worker.current_registration
        if current is not None and current.valid_to > newest.valid_to:
            return False
        changed = False
        for field, value in (("mobile", mobile), ("employer", employer)):
            if value and getattr(worker, field) != value:
                setattr(worker, field, value)
                changed = True
        if worker.work_region_id != newest.region.pk:
            worker.work_region = newest.region
            changed = True
        phone = self._phone_for(worker.mobile, phones_taken, user.pk) if worker.mobile else None
        if phone != user.phone and (phone is not None or user.phone is not None):
            user.phone = phone
            self.changed_users.append(user)
            changed = True
        if changed:
            worker.updated_at = timezone.now()
            self.changed_workers.append(worker)
        return changed

    def write(self) -> None:
        """Everything in one transaction, in bulk; then the registry's stored fields and the statistics."""
        history = {"default_change_reason": CHANGE_REASON, "default_user": self.actor, "batch_size": BATCH}
        with transaction.atomic():
            Qualification.objects.bulk_create(self.qualifications, batch_size=BATCH)
            # Accounts without history rows, like the roster's rows: the profile and registrations carry it.
            User.objects.bulk_create(self.users, batch_size=BATCH)
            for worker in self.new_workers:
                worker.user_id = worker.user.pk
            bulk_create_with_history(self.new_workers, SocialWorker, **history)
            User.objects.bulk_update(self.changed_users, ["phone", "phone_hash"], batch_size=BATCH)
            bulk_update_with_history(self.changed_workers, SocialWorker,
                                     ["mobile", "mobile_hash", "employer", "work_region", "updated_at"], **history)
            for registration in self.new_registrations:
                registration.worker_id = registration.worker.pk
                registration.qualification_id = registration.qualification.pk
            bulk_create_with_history(self.new_registrations, Registration, **history)
            bulk_update_with_history(self.changed_registrations, Registration, list(REGISTRATION_FIELDS), **history)
            # The registry's stored current registration and CE hours (services/registry.py).
            registry_refresh({r.worker_id for r in self.new_registrations} | {
                r.worker_id for r in self.changed_registrations})
            # The statistics of the regions concerned, recomputed on commit (reports/aggregates.py).
            aggregates.touch((aggregates.REGISTRATIONS,), *self.registration_regions)
            aggregates.touch((aggregates.WORKERS,), *self.work_regions)
            existing = set(self.existing_workers)
            if existing:
                transaction.on_commit(lambda: _sync_station_workers(existing))


def _sync_station_workers(worker_ids) -> None:
    """Synced station workers follow the registry (stations/signals.py does it on save; bulk writes send no
    signals): only workers holding a synced post now, a few among the imported."""
    from stations.models import StationWorker
    from stations.services import station_workers_sync_from_registry

    posted = set(StationWorker.objects.filter(social_worker_id__in=list(worker_ids), left_on__isnull=True,
                                              source=StationWorker.Source.SYNCED)
                 .values_list("social_worker_id", flat=True))
    for worker in SocialWorker.objects.filter(pk__in=posted):
        station_workers_sync_from_registry(worker)


KIND = register(ImportKind(
    key="registrations",
    label=gettext_lazy("Registrations before this system"),
    columns=COLUMNS,
    run=registrations_import,
    description=gettext_lazy(
        "The registrations made before this system, one row per registration of a worker (a worker's whole "
        "history on several rows). Each worker gets an account they claim themselves with their ID number, "
        "their current registration and their history; the exam roster row is added if it is missing."),
    natural_key=gettext_lazy("a row is the same registration again by its registration number, and the same worker "
                             "by the ID number"),
    command="import_registrations",
))
