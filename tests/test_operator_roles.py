"""三员分立 (SECURITY.md Z5): the operators' three roles — system administrator, security administrator,
auditor — each able to do its own work only (accounts/operator_roles.py)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.checks import Error, Warning
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import operator_roles
from accounts.checks import superusers_present
from accounts.models import OperatorRole, SecurityEvent, User
from accounts.services import official_create
from swms.models import ReviewLog
from tests.conftest import PASSWORD, make_user

ROLES = ("system", "security", "audit")


@pytest.fixture
def operators(db):
    return {role: make_user(f"op_{role}", "", None, is_staff=True, operator_role=role) for role in ROLES}


def _admin(model: str, view: str = "changelist", *args) -> str:
    app, name = model.split(".")
    return reverse(f"admin:{app}_{name}_{view}", args=args)


# (what, URL builder, expected status for system, security, audit)
ADMIN_MATRIX = [
    ("admin index", lambda: reverse("admin:index"), (200, 200, 200)),
    ("users", lambda: _admin("accounts.user"), (403, 200, 403)),
    ("add user", lambda: _admin("accounts.user", "add"), (403, 200, 403)),
    ("security log", lambda: _admin("accounts.securityevent"), (403, 403, 200)),
    ("audit chain check", lambda: reverse("admin:accounts_securityevent_verify_chain"), (403, 403, 200)),
    ("review log", lambda: _admin("swms.reviewlog"), (403, 403, 200)),
    ("user history records", lambda: _admin("accounts.historicaluser"), (403, 403, 200)),
    ("lockouts", lambda: _admin("axes.accessattempt"), (403, 200, 200)),
    ("access log", lambda: _admin("axes.accesslog"), (403, 403, 200)),
    ("access failure log", lambda: _admin("axes.accessfailurelog"), (403, 403, 200)),
    ("regions", lambda: _admin("accounts.region"), (200, 403, 403)),
    ("beat schedules", lambda: _admin("django_celery_beat.periodictask"), (200, 403, 403)),
    ("add beat schedule", lambda: _admin("django_celery_beat.crontabschedule", "add"), (200, 403, 403)),
]

# Business pages (the region scope superusers had is the system administrator's).
SITE_MATRIX = [
    ("workbench", "reports:workbench", (200, 200, 200)),
    ("import centre", "import-centre", (200, 403, 403)),
    ("registration windows", "registration:window-list", (200, 403, 403)),
    ("registry", "registration:registry", (200, 403, 403)),
    ("review oversight", "reports:review-dashboard", (200, 403, 403)),
    ("spot checks", "spotchecks:batch-list", (200, 403, 403)),
    ("officials", "accounts:official-list", (403, 200, 403)),
    ("create official", "accounts:official-create", (403, 200, 403)),
]


@pytest.mark.parametrize("role_index,role", enumerate(ROLES))
@pytest.mark.parametrize("what,url,expected", ADMIN_MATRIX, ids=[row[0] for row in ADMIN_MATRIX])
def test_admin_pages_follow_the_role(client, operators, role_index, role, what, url, expected):
    client.force_login(operators[role])
    assert client.get(url()).status_code == expected[role_index], (role, what)


@pytest.mark.parametrize("role_index,role", enumerate(ROLES))
@pytest.mark.parametrize("what,name,expected", SITE_MATRIX, ids=[row[0] for row in SITE_MATRIX])
def test_site_pages_follow_the_role(client, regions, operators, role_index, role, what, name, expected):
    client.force_login(operators[role])
    assert client.get(reverse(name)).status_code == expected[role_index], (role, what)


def test_groups_are_not_offered_in_the_admin(client, operators):
    client.force_login(operators["security"])
    assert client.get("/ops-admin/auth/group/").status_code == 404


def test_the_admin_index_lists_only_the_roles_models(client, operators):
    client.force_login(operators["audit"])
    html = client.get(reverse("admin:index")).content.decode()
    assert _admin("accounts.securityevent") in html and _admin("swms.reviewlog") in html
    assert _admin("accounts.user") not in html and _admin("accounts.region") not in html


def test_auditor_cannot_change_or_delete_a_log_row(client, operators, alice):
    event = SecurityEvent.objects.create(kind=SecurityEvent.Kind.LOGIN, username="alice", target=alice)
    log = ReviewLog.objects.create(action="approve", step="county", from_state="submitted", to_state="approved",
                                   actor=alice, actor_region=alice.region,
                                   content_type=ContentType.objects.get_for_model(User), object_id=alice.pk)
    client.force_login(operators["audit"])
    for model, obj in (("accounts.securityevent", event), ("swms.reviewlog", log)):
        # Reading the row works; the page offers no save and no delete.
        page = client.get(_admin(model, "change", obj.pk))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert client.post(_admin(model, "change", obj.pk), {"username": "x"}).status_code == 403
        assert client.post(_admin(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert client.post(_admin(model), {"action": "delete_selected", "_selected_action": [obj.pk],
                                           "post": "yes"}).status_code in (200, 302)
    event.refresh_from_db()
    assert SecurityEvent.objects.filter(pk=event.pk, username="alice").exists()
    assert ReviewLog.objects.filter(pk=log.pk).exists()


def test_auditor_reads_the_audit_chain_result(client, operators, alice):
    from accounts.services import security_event_record

    security_event_record(kind=SecurityEvent.Kind.LOGIN, username="alice", target=alice)
    client.force_login(operators["audit"])
    assert reverse("admin:accounts_securityevent_verify_chain") in client.get(
        _admin("accounts.securityevent")).content.decode()
    page = client.get(reverse("admin:accounts_securityevent_verify_chain")).content.decode()
    assert 'data-testid="chain-intact"' in page


def test_auditor_cannot_unlock_or_clean_lockouts(client, operators):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(username="victim", ip_address="10.0.0.1", user_agent="x",
                                           path_info="/accounts/login/", failures_since_start=5,
                                           get_data="", post_data="", http_accept="")
    client.force_login(operators["audit"])
    assert client.post(_admin("axes.accessattempt", "delete", attempt.pk), {"post": "yes"}).status_code == 403
    page = client.get(_admin("axes.accessattempt"))
    assert b"cleanup_expired_attempts" not in page.content and b"delete_selected" not in page.content
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    # The security administrator unlocks.
    client.force_login(operators["security"])
    assert client.post(_admin("axes.accessattempt", "delete", attempt.pk), {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_security_admin_cannot_open_system_configuration(client, operators):
    client.force_login(operators["security"])
    assert client.get(reverse("import-centre")).status_code == 403
    assert client.get(_admin("accounts.region")).status_code == 403
    assert client.get(_admin("django_celery_beat.periodictask")).status_code == 403
    assert client.get(reverse("registration:window-create")).status_code in (302, 403)


def test_system_admin_cannot_create_accounts(client, regions, operators):
    sysadmin = operators["system"]
    client.force_login(sysadmin)
    response = client.post(_admin("accounts.user", "add"),
                           {"username": "sneaky", "password1": "Xy#12345678abc", "password2": "Xy#12345678abc",
                            "usable_password": "true"})
    assert response.status_code == 403
    assert client.post(reverse("accounts:official-create"), {"username": "sneaky", "region": regions["越秀区"].pk,
                                                             "full_name": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        official_create(actor=sysadmin, username="sneaky", region=regions["越秀区"])
    assert not User.objects.filter(username="sneaky").exists()


def test_security_admin_creates_an_official(client, regions, operators):
    client.force_login(operators["security"])
    response = client.post(reverse("accounts:official-create"),
                           {"username": "yx_new", "region": regions["越秀区"].pk, "full_name": "新官员"})
    assert response.status_code == 200
    assert User.objects.get(username="yx_new").region == regions["越秀区"]


def _own_change_post(user):
    return {"username": user.username, "full_name": user.full_name, "email": "", "phone": "", "id_number": "",
            "kind": "", "region": "", "operator_role": "system", "is_active": "on", "must_change_password": ""}


@pytest.mark.parametrize("role", ROLES)
def test_nobody_changes_their_own_role(client, operators, role):
    me = operators[role]
    client.force_login(me)
    client.post(_admin("accounts.user", "change", me.pk), _own_change_post(me))
    me.refresh_from_db()
    assert me.operator_role == role and not me.is_superuser
    with pytest.raises(PermissionDenied):
        operator_roles.operator_role_change(actor=me, target=me, role="system")
    me.refresh_from_db()
    assert me.operator_role == role


def test_own_role_fields_are_read_only_in_the_admin(client, operators):
    me = operators["security"]
    client.force_login(me)
    page = client.get(_admin("accounts.user", "change", me.pk)).content.decode()
    assert 'name="operator_role"' not in page and 'name="kind"' not in page
    other = operators["audit"]
    page = client.get(_admin("accounts.user", "change", other.pk)).content.decode()
    assert 'name="operator_role"' in page
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page and 'name="user_permissions"' not in page


def test_security_admin_changes_a_role_and_it_is_logged(client, operators):
    secadmin, target = operators["security"], operators["audit"]
    client.force_login(secadmin)
    response = client.post(_admin("accounts.user", "change", target.pk), {**_own_change_post(target)})
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.operator_role == "system" and target.is_staff and not target.is_superuser
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ROLE_CHANGED, target=target)
    assert event.actor == secadmin and "audit -> system" in event.detail


def test_role_change_service_logs_and_refuses_others(operators, alice):
    secadmin, target = operators["security"], operators["system"]
    operator_roles.operator_role_change(actor=secadmin, target=target, role="audit")
    target.refresh_from_db()
    assert target.operator_role == "audit"
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ROLE_CHANGED, target=target,
                                        detail="operator_role: system -> audit").exists()
    for actor in (operators["system"], operators["audit"], alice):
        with pytest.raises(PermissionDenied):
            operator_roles.operator_role_change(actor=actor, target=target, role="security")


def test_an_operator_role_cannot_go_with_a_kind_or_superuser(db, regions):
    for extra in ({"kind": "official", "region": regions["越秀区"]}, {"is_superuser": True}, {"is_staff": False},
                  {"region": regions["越秀区"]}):
        fields = {"username": "two_roles", "operator_role": "audit", "is_staff": True, **extra}
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(**fields)
    User.objects.create(username="one_role", operator_role="audit", is_staff=True)


def test_a_superuser_cannot_be_given_an_operator_role(db):
    root = make_user("legacy_root", "", None, is_superuser=True, is_staff=True)
    root.operator_role = "security"
    with pytest.raises(IntegrityError), transaction.atomic():
        root.save()


def test_role_values_match_the_model():
    assert set(operator_roles.ROLE_PERMISSIONS) == set(OperatorRole.values) == set(ROLES)


def test_roles_share_no_capability():
    caps = {role: operator_roles.role_permissions(role) for role in ROLES}
    assert not caps["system"] & caps["security"]
    assert not caps["system"] & caps["audit"]
    # The lockout list is the one shared page: read by the auditor, unlocked by the security administrator.
    assert caps["security"] & caps["audit"] == {"axes.view_accessattempt"}
    assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in caps["audit"])


def test_an_operator_of_another_kind_gets_nothing(db, regions):
    # Data written around the constraint (raw SQL, an old row) still gives no operator powers.
    official = make_user("oddball", "official", regions["越秀区"])
    User.objects.filter(pk=official.pk).update(is_staff=True)
    official.refresh_from_db()
    official.operator_role = "system"  # in memory only: the constraint refuses to store it
    assert not operator_roles.can(official, operator_roles.OPERATE_SYSTEM)
    assert not official.has_perm("accounts.view_region")


def test_create_operator_command(db, capsys):
    call_command("create_operator", "--role", "audit", "--username", "audit1", "--email", "a@example.org")
    user = User.objects.get(username="audit1")
    assert user.operator_role == "audit" and user.is_staff and not user.is_superuser and user.kind == ""
    assert user.must_change_password
    password = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert user.check_password(password) and password != PASSWORD
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ROLE_CHANGED, target=user).exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_operator", "--role", "audit", "--username", "audit1")


def test_check_reports_superusers(db, settings):
    assert superusers_present() == []
    make_user("legacy_root", "", None, is_superuser=True, is_staff=True)
    settings.SWMS_PRODUCTION = False
    (msg,) = superusers_present()
    assert isinstance(msg, Warning) and "legacy_root" in msg.msg
    settings.SWMS_PRODUCTION = True
    (msg,) = superusers_present()
    assert isinstance(msg, Error) and msg.id == "accounts.E001"


def test_navigation_shows_each_role_its_own_entries(client, regions, operators):
    client.force_login(operators["security"])
    html = client.get(reverse("reports:workbench")).content.decode()
    assert reverse("accounts:official-list") in html and reverse("import-centre") not in html
    client.force_login(operators["system"])
    html = client.get(reverse("reports:workbench")).content.decode()
    assert reverse("import-centre") in html and reverse("accounts:official-list") not in html
    # Every operator finds the operations console (the admin) in the top bar.
    for role in ROLES:
        client.force_login(operators[role])
        assert 'data-testid="console-link"' in client.get(reverse("reports:workbench")).content.decode()


def test_security_admin_resets_a_password_in_the_admin_and_it_is_logged(client, operators, alice):
    secadmin = operators["security"]
    client.force_login(secadmin)
    url = reverse("admin:auth_user_password_change", args=[alice.pk])
    response = client.post(url, {"password1": "Qz#8vLm2pR7x!", "password2": "Qz#8vLm2pR7x!"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Qz#8vLm2pR7x!") and alice.must_change_password
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET, target=alice, actor=secadmin).exists()
    # The system administrator and the auditor cannot.
    for role in ("system", "audit"):
        client.force_login(operators[role])
        assert client.post(url, {"password1": "Xx#8vLm2pR7y!", "password2": "Xx#8vLm2pR7y!"}).status_code == 403


@pytest.mark.parametrize("role", ["system", "security"])
def test_system_and_security_admins_cannot_read_edit_or_delete_audit_logs(client, operators, alice, role):
    event = SecurityEvent.objects.create(kind=SecurityEvent.Kind.LOGIN, username="alice", target=alice)
    client.force_login(operators[role])
    assert client.get(_admin("accounts.securityevent", "change", event.pk)).status_code == 403
    assert client.post(_admin("accounts.securityevent", "change", event.pk), {"username": "x"}).status_code == 403
    assert client.post(_admin("accounts.securityevent", "delete", event.pk), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:accounts_securityevent_verify_chain")).status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk, username="alice").exists()
