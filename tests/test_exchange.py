"""The national data exchange (部省数据交换, #15): a province's package exported, checked and imported into an
empty national database with the same keys, counts and values; tampered, partial, unknown-version,
out-of-scope and repeated packages refused or ignored with nothing written; incremental packages."""

import csv
import datetime
import hashlib
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.utils import timezone, translation
from stdnum.cn import uscc as stdnum_uscc

from accounts.models import Region, User, UserKind
from exchange import schema
from exchange.models import ExchangeImport, ExchangePackage
from exchange.services import ExchangeError, acknowledge_package, export_package, import_package
from exchange.tasks import export_monthly_packages, export_province_package
from registration.certificates import certificate_revoke
from registration.freeze import registration_status_set
from registration.models import Certificate, Organization, Qualification, Registration, SocialWorker
from services.models import MonthlySummary
from stations import services as station_services
from stations.models import Station, StationFunding, StationOperator
from tests.conftest import make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory

_uscc_serial = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in their English source (the zh-Hans catalog is kept separately)."""
    with translation.override("en"):
        yield


def make_uscc(area="440104") -> str:
    body = f"52{area}{next(_uscc_serial):09d}"
    return body + stdnum_uscc.calc_check_digit(body)


def make_org(regions, region="越秀区", name="阳光社会工作服务中心"):
    uscc = make_uscc()
    account = make_user(f"org_{uscc[-8:]}", UserKind.ORGANIZATION, regions[region])
    org = Organization.objects.create(
        account=account, name=name, uscc=uscc, legal_representative="张三", region=regions[region],
        address="广州市越秀区中山五路 1 号", contact_person="李四", contact_phone="020-83000001",
        service_domains=["elderly_care"], founded_on=datetime.date(2018, 1, 1), registration_authority="越秀区民政局",
    )
    Organization.objects.filter(pk=org.pk).update(status="approved", submitted_at=timezone.now(),
                                                  decided_at=timezone.now())
    org.refresh_from_db()
    return org


def make_worker(region, **kw):
    data = dict(work_region=region, gender="female", birth_date=datetime.date(1990, 1, 1), education="bachelor",
                school="中山大学", employer="阳光社工中心", practice_domains=["community", "elderly"], full_time=True,
                years_in_social_work=5, position="frontline", status="approved")
    data.update(kw)
    return SocialWorkerFactory(**data)


def make_certificate(registration, **kw):
    return Certificate.objects.create(registration=registration, file=f"certificates/{registration.registration_no}.pdf",
                                      sha256=hashlib.sha256(registration.registration_no.encode()).hexdigest(),
                                      issued_by="广州市民政局", **kw)


@pytest.fixture
def province(regions, province_official, media):
    """广东省 with workers, registrations (one renewed, one frozen), certificates (one revoked and replaced),
    organizations, stations (with operators and funding; one deleted) and monthly figures; and one worker and
    one station of 湖北省 that no 广东 package may hold."""
    gd = regions["广东省"]
    org = make_org(regions)
    make_org(regions, region="东莞市", name="东莞社工服务中心")
    workers = [make_worker(regions[town], name=f"社工{i}") for i, town in
               enumerate(["洪桥街道", "沙面街道", "东城街道", "洪桥街道", "福田区"])]
    first = RegistrationFactory(worker=workers[0], valid_from=datetime.date(2019, 6, 1))
    renewal = RegistrationFactory(worker=workers[0], kind="renewal", valid_from=datetime.date(2022, 6, 1),
                                  qualification=first.qualification)
    second = RegistrationFactory(worker=workers[1], valid_from=datetime.date(2021, 3, 1))
    frozen = RegistrationFactory(worker=workers[2], valid_from=datetime.date(2018, 1, 1))
    registration_status_set(frozen, Registration.Status.FROZEN, reason="not renewed in time")
    make_certificate(first, revoked_at=timezone.now(), revoked_reason="reissued")
    make_certificate(renewal)
    make_certificate(second)
    station, _pw = station_services.station_create(
        actor=province_official,
        data=dict(name="洪桥街道社工站", tier="station", region=regions["洪桥街道"], address="洪桥街1号",
                  contact_person="陈站长", contact_phone="020-12345678", founded_on=datetime.date(2021, 3, 1),
                  floor_area=Decimal("200.5"), service_domains=["elderly_care"], service_scope="辖区居民"),
        funding=[{"year": 2025, "amount": Decimal("30.00"), "source": "福彩公益金"},
                 {"year": 2026, "amount": Decimal("32.50"), "source": ""}],
        operators=[{"organization": org, "valid_from": datetime.date(2025, 1, 1),
                    "valid_to": datetime.date(2027, 12, 31)}],
    )
    closed, _pw = station_services.station_create(
        actor=province_official,
        data=dict(name="东城街道社工站", tier="station", region=regions["东城街道"], address="东城路2号",
                  contact_person="黄站长", contact_phone="0769-1234567"),
        funding=[], operators=[],
    )
    station_services.station_delete(actor=province_official, station=closed, reason="并入中心站")
    MonthlySummary.objects.create(station=station, month=datetime.date(2026, 4, 1), created_by=station.account,
                                  activity_count=3, persons_served=5, person_times=9, status="approved",
                                  submitted_at=timezone.now(), decided_at=timezone.now(), text="四月")
    MonthlySummary.objects.create(station=station, month=datetime.date(2026, 5, 1), created_by=station.account,
                                  activity_count=1, persons_served=2, person_times=2)
    outsider = make_worker(regions["沙嘴街道"], name="湖北社工")
    RegistrationFactory(worker=outsider)
    Station.objects.create(code="429004001000001", name="沙嘴街道社工站", tier="station", region=regions["沙嘴街道"],
                           address="沙嘴", contact_person="周", contact_phone="0728-1")
    return {"gd": gd, "workers": workers, "station": station, "org": org, "outsider": outsider,
            "registrations": {"first": first, "renewal": renewal, "second": second, "frozen": frozen}}


# --- Helpers ---------------------------------------------------------------------------------------------

def snapshot(gd):
    """The province's rows by natural key with their key values, in a stable order."""
    def rows(qs, *fields):
        return sorted(qs.values_list(*fields), key=repr)

    stations = Station.objects.within(gd)
    return {
        "workers": rows(SocialWorker.objects.within(gd), "id_number", "name", "gender", "birth_date", "education",
                        "school", "work_region__code", "employer", "practice_domains", "full_time",
                        "years_in_social_work", "position", "status", "current_registration__registration_no"),
        "registrations": rows(Registration.objects.within(gd), "registration_no", "worker__id_number", "kind",
                              "level", "region__code", "valid_from", "valid_to", "status", "ce_hours",
                              "qualification__certificate_no", "qualification__exam_year", "created_at"),
        "certificates": rows(Certificate.objects.within(gd), "token", "registration__registration_no", "sha256",
                             "issued_at", "issued_by", "revoked_at", "revoked_reason"),
        "stations": rows(stations, "code", "name", "tier", "region__code", "address", "contact_person",
                         "founded_on", "floor_area", "service_domains", "service_scope", "created_at",
                         "deleted_at", "deleted_reason"),
        "operators": rows(StationOperator.objects.filter(station__in=stations), "station__code",
                          "organization__uscc", "status", "valid_from", "valid_to"),
        "funding": rows(StationFunding.objects.filter(station__in=stations), "station__code", "year", "amount",
                        "source"),
        "organizations": rows(Organization.objects.within(gd), "uscc", "name", "legal_representative",
                              "region__code", "service_domains", "founded_on", "status", "submitted_at",
                              "decided_at", "created_at"),
        "figures": rows(MonthlySummary.objects.within(gd), "station__code", "month", "activity_count",
                        "persons_served", "person_times", "status", "submitted_at", "created_at"),
    }


def empty_national(gd):
    """Delete the province's rows (the regions stay): what a national database holds before its first import."""
    stations = Station.objects.within(gd)
    MonthlySummary.objects.filter(station__in=stations).delete()
    Certificate.objects.within(gd).delete()
    registrations = Registration.objects.within(gd)
    qualifications = list(registrations.values_list("qualification_id", flat=True))
    worker_ids = list(SocialWorker.objects.filter(
        Q(pk__in=registrations.values("worker_id")) | Q(pk__in=SocialWorker.objects.within(gd).values("pk")))
        .values_list("pk", flat=True))
    SocialWorker.objects.filter(pk__in=worker_ids).update(current_registration=None)
    registrations.delete()
    Qualification.objects.filter(pk__in=qualifications).delete()
    stations.delete()
    Organization.objects.within(gd).delete()
    SocialWorker.objects.filter(pk__in=worker_ids).delete()


def package_path(package, tmp_path) -> str:
    """The package's zip copied out of storage, as it travels to the national side."""
    path = tmp_path / f"package-{package.pk}.zip"
    with package.file.open("rb") as src:
        path.write_bytes(src.read())
    return str(path)


def read_files(path) -> tuple[dict, dict]:
    """The manifest and {file: [row as dict]}; each file's header is checked against the format."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {}
        for spec in schema.FILES:
            reader = csv.DictReader(io.StringIO(archive.read(spec.name).decode("utf-8"), newline=""))
            files[spec.name] = list(reader)
            assert reader.fieldnames == spec.header
    return manifest, files


def rewrite(path, out, *, replace=None, drop=(), extra=None, manifest=None, fix=False) -> str:
    """A copy of the package with members replaced, dropped or added and the manifest edited; `fix`
    recomputes the manifest's checksums and row counts of replaced files (a well-formed package)."""
    replace, extra = replace or {}, extra or {}
    with zipfile.ZipFile(path) as src:
        members = {name: src.read(name) for name in src.namelist()}
    data = json.loads(members.pop("manifest.json"))
    for name, content in replace.items():
        members[name] = content
        if fix:
            data["files"][name] = {"sha256": hashlib.sha256(content).hexdigest(),
                                   "rows": len(list(csv.reader(io.StringIO(content.decode("utf-8"))))) - 1}
    for name in drop:
        members.pop(name)
    members.update(extra)
    if manifest:
        manifest(data)
    with zipfile.ZipFile(out, "w") as dst:
        for name, content in members.items():
            dst.writestr(name, content)
        dst.writestr("manifest.json", json.dumps(data))
    return str(out)


def national_counts(gd):
    return (SocialWorker.objects.within(gd).count(), Registration.objects.within(gd).count(),
            Organization.objects.within(gd).count(), Station.objects.within(gd).count(),
            ExchangeImport.objects.count())


# --- Round trip ----------------------------------------------------------------------------------------

def test_round_trip_into_an_empty_national_database_keeps_keys_counts_and_values(province, tmp_path):
    gd = province["gd"]
    before = snapshot(gd)
    package = export_package(gd, full=True)
    path = package_path(package, tmp_path)
    manifest, files = read_files(path)

    assert manifest["schema_version"] == "1.0" and manifest["kind"] == "full" and manifest["since"] is None
    assert (manifest["province_code"], manifest["province_name"]) == ("440000000000", "广东省")
    assert {name: entry["rows"] for name, entry in manifest["files"].items()} == {
        "workers.csv": 5, "registrations.csv": 4, "certificates.csv": 3, "stations.csv": 2,
        "organizations.csv": 2, "service_figures.csv": 2}
    # The other province's rows stay out; ID numbers are whole (the national key); no account data.
    ids = {row["id_number"] for row in files["workers.csv"]}
    assert province["outsider"].id_number not in ids and province["workers"][0].id_number in ids
    assert {row["code"] for row in files["stations.csv"]} == {s[0] for s in before["stations"]}
    assert not any(word in column for spec in schema.FILES for column in spec.header
                   for word in ("password", "username", "mobile", "email"))
    with open(path, "rb") as fh:
        assert package.sha256 == hashlib.sha256(fh.read()).hexdigest()
    empty_national(gd)
    assert all(not rows for rows in snapshot(gd).values())
    outsider_before = SocialWorker.objects.get(pk=province["outsider"].pk).name

    result = import_package(path, None)

    assert not result.already_imported
    assert snapshot(gd) == before
    assert {name: c["created"] for name, c in result.counts.items()} == {
        name: entry["rows"] for name, entry in manifest["files"].items()}
    worker = SocialWorker.objects.get(id_number=province["workers"][0].id_number)
    assert worker.current_registration.registration_no == province["registrations"]["renewal"].registration_no
    assert not worker.user.is_active and not worker.user.has_usable_password()
    assert SocialWorker.objects.get(pk=province["outsider"].pk).name == outsider_before
    record = ExchangeImport.objects.get()
    assert (record.sha256, record.province, record.kind) == (package.sha256, gd, "full")


def test_export_command_writes_the_package_and_copies_it_out(province, tmp_path):
    out = io.StringIO()
    call_command("export_exchange", "--province", "440000", "--full", "--period", "2026-05",
                 "--out", str(tmp_path / "out"), stdout=out)
    package = ExchangePackage.objects.get()
    copied = tmp_path / "out" / package.file.name.split("/")[-1]
    with package.file.open("rb") as fh:
        assert copied.read_bytes() == fh.read()
    assert package.period == "2026-05" and package.sha256 in out.getvalue()
    with pytest.raises(CommandError):
        call_command("export_exchange", "--province", "440100", stdout=io.StringIO())  # a city, not a province


# --- Refusals: nothing written -----------------------------------------------------------------------------

@pytest.fixture
def exported(province, tmp_path):
    """The province's full package copied out, and the national database emptied."""
    package = export_package(province["gd"], full=True)
    path = package_path(package, tmp_path)
    empty_national(province["gd"])
    return {"path": path, "package": package, **province}


def test_a_changed_file_fails_its_checksum_and_nothing_is_written(exported, tmp_path):
    gd = exported["gd"]
    _manifest, files = read_files(exported["path"])
    with zipfile.ZipFile(exported["path"]) as archive:
        original = archive.read("workers.csv").decode("utf-8")
    tampered = original.replace("阳光社工中心", "光明社工中心", 1).encode("utf-8")
    path = rewrite(exported["path"], tmp_path / "tampered.zip", replace={"workers.csv": tampered})

    with pytest.raises(CommandError) as refused:
        call_command("import_exchange", path, stdout=io.StringIO())

    assert "SHA-256" in str(refused.value) and "workers.csv" in str(refused.value)
    assert national_counts(gd) == (0, 0, 0, 0, 0)
    # The untouched package imports.
    call_command("import_exchange", exported["path"], stdout=io.StringIO())
    assert national_counts(gd) == (5, 4, 2, 2, 1)


def test_a_partial_package_is_refused_whole(exported, tmp_path):
    gd = exported["gd"]
    missing = rewrite(exported["path"], tmp_path / "missing.zip", drop=["certificates.csv"])
    with pytest.raises(ExchangeError, match="certificates.csv"):
        import_package(missing, None)
    unlisted = rewrite(exported["path"], tmp_path / "unlisted.zip",
                       manifest=lambda m: m["files"].pop("service_figures.csv"))
    with pytest.raises(ExchangeError, match="service_figures.csv"):
        import_package(unlisted, None)
    stray = rewrite(exported["path"], tmp_path / "stray.zip", extra={"notes.txt": b"hello"})
    with pytest.raises(ExchangeError, match="notes.txt"):
        import_package(stray, None)
    wrong_count = rewrite(exported["path"], tmp_path / "count.zip",
                          manifest=lambda m: m["files"]["stations.csv"].update(rows=3))
    with pytest.raises(ExchangeError, match="stations.csv"):
        import_package(wrong_count, None)
    assert national_counts(gd) == (0, 0, 0, 0, 0)


def test_a_bad_row_in_a_later_file_rolls_back_the_files_before_it(exported, tmp_path):
    """Organizations and workers are written before stations; an unknown region code in stations.csv rejects
    the package and leaves none of them."""
    gd = exported["gd"]
    with zipfile.ZipFile(exported["path"]) as archive:
        stations = archive.read("stations.csv").decode("utf-8")
    assert ",440104001000," in stations  # the 洪桥街道 station's region cell
    bad = stations.replace(",440104001000,", ",440199001000,", 1).encode("utf-8")
    path = rewrite(exported["path"], tmp_path / "bad-region.zip", replace={"stations.csv": bad}, fix=True)

    with pytest.raises(ExchangeError) as refused:
        import_package(path, None)

    assert "stations.csv line 2" in str(refused.value) and "440199001000" in str(refused.value)
    assert national_counts(gd) == (0, 0, 0, 0, 0)
    assert not User.objects.filter(username__startswith="exchange-").exists()


def test_an_unknown_schema_major_is_refused_and_a_newer_minor_read(exported, tmp_path):
    gd = exported["gd"]
    future = rewrite(exported["path"], tmp_path / "v2.zip", manifest=lambda m: m.update(schema_version="2.0"))
    with pytest.raises(CommandError, match="2.0"):
        call_command("import_exchange", future, stdout=io.StringIO())
    assert national_counts(gd) == (0, 0, 0, 0, 0)

    minor = rewrite(exported["path"], tmp_path / "v1_3.zip", manifest=lambda m: m.update(schema_version="1.3"))
    import_package(minor, None)
    assert national_counts(gd) == (5, 4, 2, 2, 1)


def test_a_province_outside_the_importing_office_is_refused(exported):
    gd = exported["gd"]
    for office in ("420000", "440100"):  # another province; a city inside the province
        with pytest.raises(CommandError, match="广东省"):
            call_command("import_exchange", exported["path"], "--office", office, stdout=io.StringIO())
    assert national_counts(gd) == (0, 0, 0, 0, 0)
    call_command("import_exchange", exported["path"], "--office", "440000", stdout=io.StringIO())
    assert ExchangeImport.objects.get().office == gd
    assert national_counts(gd) == (5, 4, 2, 2, 1)


def test_the_same_package_twice_writes_nothing_the_second_time(exported):
    gd = exported["gd"]
    import_package(exported["path"], None)
    worker = SocialWorker.objects.get(id_number=exported["workers"][0].id_number)
    SocialWorker.objects.filter(pk=worker.pk).update(name="国家端改名")  # would be overwritten by a re-import
    users = User.objects.count()
    out = io.StringIO()

    call_command("import_exchange", exported["path"], stdout=out)

    assert "already imported" in out.getvalue()
    assert SocialWorker.objects.get(pk=worker.pk).name == "国家端改名"
    assert User.objects.count() == users and ExchangeImport.objects.count() == 1
    assert national_counts(gd) == (5, 4, 2, 2, 1)


# --- Incremental packages ----------------------------------------------------------------------------------

def test_incremental_package_holds_only_rows_changed_since_the_acknowledged_one(province, settings, tmp_path,
                                                                                 regions, province_official):
    settings.SWMS_EXCHANGE_OVERLAP_SECONDS = 0
    gd = province["gd"]
    full = export_package(gd, full=True)
    assert export_package(gd).kind == "full"  # nothing acknowledged yet: the next package is full too
    out = io.StringIO()
    call_command("acknowledge_exchange", full.sha256[:12], stdout=out)
    full.refresh_from_db()
    assert full.acknowledged_at is not None

    # After the cut-off: a profile edited, a registration frozen, a certificate revoked, a station's funding
    # changed, a new organization.
    worker = SocialWorker.objects.get(pk=province["workers"][3].pk)
    worker.employer = "新雇主社工中心"
    worker.save()
    registration_status_set(province["registrations"]["second"], Registration.Status.FROZEN, reason="test")
    certificate_revoke(certificate=Certificate.objects.get(registration=province["registrations"]["renewal"]),
                       reason="注销")
    station = province["station"]
    station_services.station_update(
        actor=province_official, station=station, data={}, funding=[{"year": 2027, "amount": Decimal("40.00")}],
        operators=[{"id": op.pk, "organization": op.organization, "valid_from": op.valid_from,
                    "valid_to": op.valid_to} for op in station.operators.all()])
    new_org = make_org(regions, name="新成立社工机构")

    incremental = export_package(gd)

    assert incremental.kind == "incremental" and incremental.since == full.until
    manifest, files = read_files(package_path(incremental, tmp_path))
    assert manifest["since"] == schema.encode_time(full.until)
    # The edited profile, and the worker whose registration was frozen.
    assert [r["id_number"] for r in files["workers.csv"]] == [province["workers"][1].id_number, worker.id_number]
    assert [r["registration_no"] for r in files["registrations.csv"]] == [
        province["registrations"]["second"].registration_no]
    assert {r["registration_no"] for r in files["certificates.csv"]} == {
        province["registrations"]["renewal"].registration_no, province["registrations"]["second"].registration_no}
    assert [r["code"] for r in files["stations.csv"]] == [station.code]
    assert json.loads(files["stations.csv"][0]["funding"]) == [{"year": 2027, "amount": "40.00", "source": ""}]
    assert [r["uscc"] for r in files["organizations.csv"]] == [new_org.uscc]
    assert files["service_figures.csv"] == []

    # The national side: the full package, then the incremental one on top.
    full_path, incremental_path = package_path(full, tmp_path), package_path(incremental, tmp_path)
    empty_national(gd)
    with pytest.raises(ExchangeError, match="full"):
        import_package(incremental_path, None)  # nothing of the province here yet
    import_package(full_path, None)
    result = import_package(incremental_path, None)
    assert result.counts["workers.csv"] == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    assert result.counts["organizations.csv"]["created"] == 1
    assert SocialWorker.objects.get(id_number=worker.id_number).employer == "新雇主社工中心"
    assert Registration.objects.get(registration_no=province["registrations"]["second"].registration_no).status == "frozen"
    assert Certificate.objects.get(registration__registration_no=province["registrations"]["renewal"].registration_no
                                   ).revoked_reason == "注销"
    assert list(StationFunding.objects.filter(station__code=station.code).values_list("year", "amount")) == [
        (2027, Decimal("40.00"))]
    # Older than what is imported: refused.
    with pytest.raises(ExchangeError):
        import_package(rewrite(full_path, tmp_path / "again.zip", manifest=lambda m: m.update(period="2026-01")),
                       None)


def test_the_overlap_sends_rows_changed_just_before_the_cut_off_again(province):
    gd = province["gd"]
    full = export_package(gd, full=True)
    acknowledge_package(str(full.pk))
    incremental = export_package(gd)  # default overlap: ten minutes before the acknowledged cut-off
    assert incremental.kind == "incremental"
    assert incremental.manifest["files"]["workers.csv"]["rows"] == 5
    assert incremental.manifest["overlap_seconds"] == 600


def test_a_gap_between_incremental_packages_is_refused(province, settings, tmp_path):
    settings.SWMS_EXCHANGE_OVERLAP_SECONDS = 0
    gd = province["gd"]
    full = export_package(gd, full=True)
    acknowledge_package(full.sha256)
    first = export_package(gd)
    acknowledge_package(first.sha256)
    second = export_package(gd)
    paths = [package_path(p, tmp_path) for p in (full, first, second)]
    empty_national(gd)
    import_package(paths[0], None)
    with pytest.raises(ExchangeError, match="missing"):
        import_package(paths[2], None)
    import_package(paths[1], None)
    import_package(paths[2], None)
    assert ExchangeImport.objects.count() == 3


# --- The monthly beat job ----------------------------------------------------------------------------------

def test_monthly_job_makes_one_package_per_province_and_period(province, settings,
                                                              django_capture_on_commit_callbacks):
    assert settings.CELERY_BEAT_SCHEDULE["export-exchange-packages"]["task"] == export_monthly_packages.name
    settings.SWMS_EXCHANGE_PROVINCES = ["440000"]
    for _run in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert export_monthly_packages() == 1
    package = ExchangePackage.objects.get()
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    assert (package.period, package.scheduled, package.kind) == (last_month, True, "full")
    assert export_province_package(province["gd"].pk, last_month) == package.pk
    assert ExchangePackage.objects.count() == 1
    # A manual export of the same period is not the scheduled one and does not stop it.
    export_package(province["gd"], full=True, period=last_month)
    assert ExchangePackage.objects.filter(scheduled=True).count() == 1


def test_monthly_job_does_nothing_where_no_province_is_configured(province, settings):
    settings.SWMS_EXCHANGE_PROVINCES = []
    assert export_monthly_packages() == 0
    assert not ExchangePackage.objects.exists()
    assert Region.objects.filter(code="440000000000").exists()
