"""Social work service organizations: sign-up, county → city review, profile locks, contact data, staff."""

import datetime
import itertools

import pytest
from captcha.models import CaptchaStore
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from stdnum.cn import uscc as stdnum_uscc

from accounts.models import User, UserKind
from notices.models import Message
from registration.models import Organization, OrganizationStaff
from registration.services import organizations as org_services
from swms import sms
from swms.workflow import Action, State, review_log_for, review_submit
from tests.conftest import make_user

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source

_serial = itertools.count(1)


def make_uscc() -> str:
    """A valid credit code of a 越秀区 social organization (registration authority 5 = civil affairs)."""
    body = f"52440104{next(_serial):09d}"
    return body + stdnum_uscc.calc_check_digit(body)


def make_organization(account, region, **overrides) -> Organization:
    """A complete draft registration for `account` in `region`."""
    data = {
        "name": f"越秀区测试社会工作服务中心{account.pk}", "uscc": make_uscc(), "legal_representative": "张三",
        "region": region, "address": "广州市越秀区中山五路 1 号", "contact_person": "李四",
        "contact_phone": "13700000001", "service_domains": ["elderly_care"], "founded_on": datetime.date(2018, 1, 1),
        "registration_authority": "广州市越秀区民政局", **overrides,
    }
    return Organization.objects.create(account=account, **data)


@pytest.fixture
def org_account(regions):
    return make_user("org_sunshine", UserKind.ORGANIZATION, regions["洪桥街道"], phone="13700000001")


@pytest.fixture
def organization(org_account, regions):
    return make_organization(org_account, regions["洪桥街道"], name="越秀区阳光社会工作服务中心")


def decide(client, user, organization, action, comment=""):
    client.force_login(user)
    return client.post(reverse("registration:organization-decide", args=[organization.pk]),
                       {"action": action, "comment": comment})


def refreshed(organization) -> Organization:
    return Organization.objects.get(pk=organization.pk)


# --- Sign-up -------------------------------------------------------------------------------------------


def signup_data(regions, **overrides):
    return {
        "name": "越秀区启明社会工作服务中心", "uscc": make_uscc(), "legal_representative": "王强",
        "region": regions["洪桥街道"].pk, "address": "广州市越秀区洪桥街 8 号", "contact_person": "赵丽",
        "mobile": "13922223333", "email": "qiming@example.org", "service_domains": ["elderly_care", "child_welfare"], "founded_on": "2019-03-01",
        "registration_authority": "广州市越秀区民政局", "username": "qiming_sw", "password1": "Gz#Qiming2026",
        "password2": "Gz#Qiming2026", "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED",
        **overrides,
    }


def test_signup_creates_account_and_draft_and_lands_on_profile(client, regions):
    code = make_uscc()
    # Typed in lower case, with spaces and a full-width digit: stored normalized.
    typed = (code[:4] + " " + code[4:]).lower().replace("5", "５", 1)
    response = client.post(reverse("registration:organization-signup"), signup_data(regions, uscc=typed))
    assert response.status_code == 302 and response["Location"] == reverse("registration:organization-profile")
    organization = Organization.objects.get(uscc=code)
    assert organization.status == State.DRAFT and organization.name == "越秀区启明社会工作服务中心"
    assert organization.region == regions["洪桥街道"] and organization.contact_phone == "13922223333"
    assert organization.service_domains == ["elderly_care", "child_welfare"]
    assert organization.founded_on == datetime.date(2019, 3, 1)
    account = organization.account
    assert account.username == "qiming_sw" and account.kind == UserKind.ORGANIZATION
    assert account.region == regions["洪桥街道"] and account.phone == "13922223333"
    assert account.check_password("Gz#Qiming2026")
    page = client.get(reverse("registration:organization-profile"))  # logged in by the sign-up
    assert page.status_code == 200 and page.context["organization"] == organization
    assert "越秀区启明社会工作服务中心" in page.content.decode()


def test_signup_rejects_a_bad_credit_code(client, regions):
    code = make_uscc()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = client.post(reverse("registration:organization-signup"), signup_data(regions, uscc=wrong))
    assert response.status_code == 200
    assert response.context["form"].errors["uscc"][0].startswith("The check character")
    short = client.post(reverse("registration:organization-signup"), signup_data(regions, uscc="5244010412345"))
    assert "18 characters" in short.context["form"].errors["uscc"][0]
    assert not User.objects.filter(username="qiming_sw").exists() and not Organization.objects.exists()


def test_signup_refuses_a_duplicate_credit_code_with_a_clear_message(client, regions, organization):
    response = client.post(reverse("registration:organization-signup"),
                           signup_data(regions, uscc=organization.uscc.lower(), mobile="13922224444"))
    assert response.status_code == 200
    assert "already registered" in " ".join(response.context["form"].non_field_errors())
    assert "already registered" in response.content.decode()
    assert Organization.objects.filter(uscc=organization.uscc).count() == 1
    assert not User.objects.filter(username="qiming_sw").exists()


def test_signup_checks_region_level_password_and_mobile(client, regions, org_account):
    url = reverse("registration:organization-signup")
    city = client.post(url, signup_data(regions, region=regions["广州市"].pk))
    assert "region" in city.context["form"].errors
    weak = client.post(url, signup_data(regions, password1="qiming_sw1", password2="qiming_sw1"))
    assert weak.context["form"].errors["password1"]
    differ = client.post(url, signup_data(regions, password2="Gz#Other2026"))
    assert differ.context["form"].errors["password2"]
    taken = client.post(url, signup_data(regions, mobile=org_account.phone))
    assert "another account" in " ".join(taken.context["form"].non_field_errors())
    assert not Organization.objects.exists() and not User.objects.filter(username="qiming_sw").exists()
    # The cascading selects keep the chosen path after an error.
    assert [level["selected"] for level in city.context["cascade"]][:2] == [regions["广东省"], regions["广州市"]]


def test_signup_region_options_are_public(client, regions):
    response = client.get(reverse("registration:region-options"), {"parent": regions["越秀区"].pk})
    assert response.status_code == 200
    assert "洪桥街道" in response.content.decode() and "沙面街道" not in response.content.decode()


# --- Review ---------------------------------------------------------------------------------------------


def test_submit_county_then_city_approve_with_messages(client, regions, organization, org_account, alice,
                                                      city_official, django_capture_on_commit_callbacks):
    sms.outbox.clear()
    client.force_login(org_account)
    client.post(reverse("registration:organization-profile"), {
        **{f: getattr(organization, f) for f in ("name", "uscc", "legal_representative", "address", "contact_person",
                                                 "contact_phone", "registration_authority")},
        "region": organization.region_id, "service_domains": organization.service_domains,
        "founded_on": "2018-01-01", "action": "submit",
    })
    organization = refreshed(organization)
    assert organization.status == State.SUBMITTED
    assert organization.initial_region == regions["越秀区"] and organization.final_region == regions["广州市"]
    assert organization not in Organization.objects.approved()

    client.force_login(alice)
    detail = client.get(reverse("registration:organization-review", args=[organization.pk]))
    assert set(detail.context["actions"]) == {"approve", "reject", "return"}
    assert organization.uscc in detail.content.decode() and "Elderly care" in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        decide(client, alice, organization, "approve", "材料齐全")
    organization = refreshed(organization)
    assert organization.status == State.COUNTY_APPROVED
    assert organization not in Organization.objects.approved()  # only the final review approves
    first = Message.objects.get(user=org_account)
    assert first.title == "Your organization registration passed the initial review" and first.body == "材料齐全"
    assert first.link == reverse("registration:organization-profile")

    with django_capture_on_commit_callbacks(execute=True):
        decide(client, city_official, organization, "approve")
    organization = refreshed(organization)
    assert organization.status == State.APPROVED and organization.decided_at is not None
    assert list(Organization.objects.approved()) == [organization]
    titles = list(Message.objects.filter(user=org_account).order_by("pk").values_list("title", flat=True))
    assert titles[-1] == "Your organization registration was approved" and len(titles) == 2
    assert [s.to for s in sms.outbox] == ["13700000001", "13700000001"]  # the contact mobile gets the SMS too
    log = list(review_log_for(organization).values_list("action", "actor__username", "to_state"))
    assert log == [(Action.SUBMIT, "org_sunshine", State.SUBMITTED),
                   (Action.APPROVE, "alice", State.COUNTY_APPROVED),
                   (Action.APPROVE, "gz_city", State.APPROVED)]
    # The applicant's page shows why it is locked now.
    client.force_login(org_account)
    assert 'data-testid="locked"' in client.get(reverse("registration:organization-profile")).content.decode()


def test_city_cannot_act_before_the_county(client, regions, organization, org_account, city_official):
    review_submit(organization, actor=org_account)
    client.force_login(city_official)
    page = client.get(reverse("registration:organization-review", args=[organization.pk]))
    assert page.status_code == 200 and page.context["actions"] == []
    assert 'data-testid="read-only"' in page.content.decode()
    assert 'data-testid="decision"' not in page.content.decode()
    response = decide(client, city_official, organization, "approve")
    assert response.status_code == 302
    assert refreshed(organization).status == State.SUBMITTED
    assert not Message.objects.filter(user=org_account).exists()
    # Not in the city's own queue yet, but visible under "all in my region".
    queue = client.get(reverse("registration:organization-queue"))
    assert organization not in list(queue.context["page"])
    everything = client.get(reverse("registration:organization-queue"), {"scope": "all"})
    assert organization in list(everything.context["page"])


def test_return_with_reason_then_edit_and_resubmit(client, regions, organization, org_account, alice):
    review_submit(organization, actor=org_account)
    decide(client, alice, organization, "return")  # a return needs a reason
    assert refreshed(organization).status == State.SUBMITTED
    decide(client, alice, organization, "return", "请补充登记证书上的住所地址")
    organization = refreshed(organization)
    assert organization.status == State.RETURNED and organization.is_editable
    assert Message.objects.get(user=org_account).title == "Your organization registration was returned for changes"

    client.force_login(org_account)
    page = client.get(reverse("registration:organization-profile"))
    assert page.context["reason"] == "请补充登记证书上的住所地址"
    assert "请补充登记证书上的住所地址" in page.content.decode()
    form = page.context["form"]
    data = {name: form[name].value() for name in org_services.PROFILE_FIELDS}
    data.update(address="广州市越秀区洪桥街 9 号 201 室", founded_on="2018-01-01", action="save")
    client.post(reverse("registration:organization-profile"), data)
    organization = refreshed(organization)
    assert organization.address == "广州市越秀区洪桥街 9 号 201 室" and organization.status == State.RETURNED
    client.post(reverse("registration:organization-profile"), {**data, "action": "submit"})
    organization = refreshed(organization)
    assert organization.status == State.SUBMITTED
    assert organization in Organization.objects.review_queue(alice)


def test_submitted_registration_is_frozen(client, regions, organization, org_account):
    review_submit(organization, actor=org_account)
    client.force_login(org_account)
    response = client.post(reverse("registration:organization-profile"), {
        "name": "改名", "uscc": organization.uscc, "legal_representative": "x", "region": organization.region_id,
        "address": "x", "contact_person": "x", "contact_phone": "13700000009", "service_domains": ["other"],
        "founded_on": "2018-01-01", "registration_authority": "x", "action": "save",
    })
    assert response.status_code == 302
    organization = refreshed(organization)
    assert organization.name == "越秀区阳光社会工作服务中心" and organization.legal_representative == "张三"
    with pytest.raises(org_services.OrganizationError):
        org_services.organization_save(organization=organization, data={"name": "改名"}, actor=org_account)
    page = client.get(reverse("registration:organization-profile")).content.decode()
    assert 'data-testid="locked"' in page and "waiting for the review of 越秀区" in page


def test_profile_edit_refuses_a_credit_code_taken_by_another_organization(client, regions, organization,
                                                                           org_account):
    other = make_user("org_other", UserKind.ORGANIZATION, regions["沙面街道"])
    taken = make_organization(other, regions["沙面街道"]).uscc
    client.force_login(org_account)
    form = client.get(reverse("registration:organization-profile")).context["form"]
    data = {name: form[name].value() for name in org_services.PROFILE_FIELDS}
    response = client.post(reverse("registration:organization-profile"),
                           {**data, "uscc": taken.lower(), "founded_on": "2018-01-01", "action": "save"})
    assert response.status_code == 200
    assert response.context["form"].errors["uscc"] == [
        "An organization with this unified social credit code is already registered."]
    assert refreshed(organization).uscc != taken
    assert response.context["organization"].uscc == organization.uscc  # the page shows the stored record


def test_dongguan_town_organization_skips_the_county_step(regions):
    account = make_user("org_dg", UserKind.ORGANIZATION, regions["东城街道"])
    organization = org_services.organization_submit(
        organization=make_organization(account, regions["东城街道"]), actor=account)
    assert organization.initial_region is None and organization.final_region == regions["东莞市"]
    dongguan = make_user("dg_city", UserKind.OFFICIAL, regions["东莞市"])
    assert list(Organization.objects.review_queue(dongguan)) == [organization]
    org_services.organization_decide(organization=organization, actor=dongguan, action="approve")
    assert refreshed(organization).status == State.APPROVED


def test_account_without_a_registration_gets_an_explanation(client, regions):
    account = make_user("org_bare", UserKind.ORGANIZATION)
    client.force_login(account)
    page = client.get(reverse("registration:organization-profile"))
    assert page.status_code == 200 and 'data-testid="no-record"' in page.content.decode()
    assert client.get(reverse("registration:organization-staff")).status_code == 404


def test_outsider_county_gets_404(client, regions, organization, org_account, charlie):
    review_submit(organization, actor=org_account)
    client.force_login(charlie)
    assert client.get(reverse("registration:organization-review", args=[organization.pk])).status_code == 404
    assert decide(client, charlie, organization, "approve").status_code == 404
    assert refreshed(organization).status == State.SUBMITTED
    assert organization not in list(client.get(reverse("registration:organization-queue"),
                                               {"scope": "all"}).context["page"])


def test_organization_cannot_see_another_organizations_review_page(client, regions, organization, org_account):
    review_submit(organization, actor=org_account)
    other = make_user("org_other", UserKind.ORGANIZATION, regions["沙面街道"])
    make_organization(other, regions["沙面街道"])
    client.force_login(other)
    assert client.get(reverse("registration:organization-review", args=[organization.pk])).status_code == 403


def test_queue_search_matches_a_typed_credit_code_exactly(client, regions, org_account, alice):
    first = review_submit(make_organization(org_account, regions["洪桥街道"]), actor=org_account)
    other_account = make_user("org_b", UserKind.ORGANIZATION, regions["北京街道"])
    # An 18-character name must still be found by name, not taken for a credit code.
    long_name = "越秀区北京街道长者综合服务社会工作站"
    assert len(long_name) == 18
    second = review_submit(make_organization(other_account, regions["北京街道"], name=long_name), actor=other_account)
    client.force_login(alice)
    url = reverse("registration:organization-queue")
    typed = " ".join([first.uscc[:8].lower(), first.uscc[8:].lower()])
    assert list(client.get(url, {"q": typed}).context["page"]) == [first]
    assert list(client.get(url, {"q": long_name}).context["page"]) == [second]
    assert list(client.get(url, {"q": "长者综合"}).context["page"]) == [second]


def test_queue_page_has_bounded_queries(client, regions, alice, django_assert_max_num_queries):
    def submit_some(start, n):
        for i in range(start, start + n):
            town = regions["洪桥街道"] if i % 2 else regions["北京街道"]
            account = make_user(f"org_q{i}", UserKind.ORGANIZATION, town)
            review_submit(make_organization(account, town), actor=account)

    submit_some(0, 3)
    client.force_login(alice)
    url = reverse("registration:organization-queue")
    with django_assert_max_num_queries(12):
        assert len(client.get(url).context["page"]) == 3
    submit_some(3, 12)
    with django_assert_max_num_queries(12):
        assert len(client.get(url).context["page"]) == 15
    with django_assert_max_num_queries(12):
        client.get(url, {"scope": "all"})


# --- Contact data after approval ------------------------------------------------------------------------


def approve(organization, account, *reviewers):
    review_submit(organization, actor=account)
    for reviewer in reviewers:
        org_services.organization_decide(organization=refreshed(organization), actor=reviewer, action="approve")
    return refreshed(organization)


def test_contact_changes_after_approval_without_review(client, regions, organization, org_account, alice,
                                                        city_official):
    organization = approve(organization, org_account, alice, city_official)
    log_before = review_log_for(organization).count()
    client.force_login(org_account)
    page = client.get(reverse("registration:organization-profile")).content.decode()
    assert 'data-testid="org-contact"' in page
    response = client.post(reverse("registration:organization-contact"), {
        "contact_person": "孙悦", "contact_phone": "13655556666", "address": "广州市越秀区北京路 2 号",
        "name": "不该改", "status": "draft", "region": regions["沙面街道"].pk,
    })
    assert response.status_code == 302
    organization = refreshed(organization)
    assert (organization.contact_person, organization.contact_phone, organization.address) == (
        "孙悦", "13655556666", "广州市越秀区北京路 2 号")
    assert organization.name == "越秀区阳光社会工作服务中心" and organization.region == regions["洪桥街道"]
    assert organization.status == State.APPROVED and review_log_for(organization).count() == log_before
    org_account.refresh_from_db()
    assert org_account.phone == "13655556666"  # review results and logins follow the new mobile
    # A mobile of another account is refused, and nothing changes.
    make_user("someone", UserKind.SOCIAL_WORKER, phone="13611112222")
    refused = client.post(reverse("registration:organization-contact"), {
        "contact_person": "钱", "contact_phone": "13611112222", "address": "x"})
    assert refused.status_code == 200 and "another account" in refused.content.decode()
    assert refreshed(organization).contact_person == "孙悦"
    # The reviewed data stays locked.
    client.post(reverse("registration:organization-profile"), {"name": "改名", "action": "save"})
    assert refreshed(organization).name == "越秀区阳光社会工作服务中心"


# --- Staff -----------------------------------------------------------------------------------------------


def test_staff_add_edit_and_leave(client, regions, organization, org_account):
    client.force_login(org_account)
    new = reverse("registration:organization-staff-new")
    for name in ("王五", "陈六"):
        response = client.post(new, {"name": name, "gender": "female", "position": "社工", "phone": "",
                                     "qualification_level": "assistant", "certificate_no": "", "joined_on": "2020-05-01"})
        assert response.status_code == 302
    wang = OrganizationStaff.objects.get(organization=organization, name="王五")
    chen = OrganizationStaff.objects.get(organization=organization, name="陈六")
    client.post(reverse("registration:organization-staff-edit", args=[wang.pk]), {
        "name": "王五", "gender": "male", "position": "督导", "phone": "13500001111",
        "qualification_level": "intermediate", "certificate_no": "ZS123", "joined_on": "2020-05-01"})
    wang.refresh_from_db()
    assert (wang.position, wang.phone, wang.qualification_level, wang.gender) == (
        "督导", "13500001111", "intermediate", "male")

    leave = reverse("registration:organization-staff-leave", args=[wang.pk])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    client.post(leave, {"left_on": tomorrow.isoformat()})
    client.post(leave, {"left_on": "2019-01-01"})  # before joining
    wang.refresh_from_db()
    assert wang.left_on is None
    client.post(leave, {"left_on": "2024-06-30"})
    wang.refresh_from_db()
    assert wang.left_on == datetime.date(2024, 6, 30)
    client.post(leave, {"left_on": "2024-07-30"})  # already left: the first date stays
    wang.refresh_from_db()
    assert wang.left_on == datetime.date(2024, 6, 30)

    page = client.get(reverse("registration:organization-staff"))
    assert [s.name for s in page.context["rows"]] == ["陈六", "王五"]  # current first, left ones kept
    assert page.context["current_count"] == 1
    html = page.content.decode()
    assert html.count('data-testid="left"') == 1 and "2024-06-30" in html
    assert OrganizationStaff.objects.filter(organization=organization).count() == 2
    assert chen.left_on is None


def test_staff_of_another_organization_is_404(client, regions, organization, org_account):
    other = make_user("org_other", UserKind.ORGANIZATION, regions["沙面街道"])
    theirs = make_organization(other, regions["沙面街道"]).staff.create(name="外人")
    client.force_login(org_account)
    assert client.get(reverse("registration:organization-staff-edit", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("registration:organization-staff-leave", args=[theirs.pk]),
                           {"left_on": "2024-01-01"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.left_on is None
    assert organization.staff.count() == 0


def test_staff_pages_refuse_other_kinds(client, regions, organization, alice, superuser):
    for user in (alice, superuser):
        client.force_login(user)
        assert client.get(reverse("registration:organization-staff")).status_code == 403
        assert client.get(reverse("registration:organization-profile")).status_code == 403


# --- Demo data --------------------------------------------------------------------------------------------


def test_seed_demo_gives_demo_org_an_approved_registration_idempotently(regions, settings):
    settings.DEBUG = True
    call_command("seed_demo", password="Demo#Pass2026")
    organization = Organization.objects.get(account__username="demo_org")
    assert organization.status == State.APPROVED and stdnum_uscc.is_valid(organization.uscc)
    assert organization.region == regions["越秀区"] and organization.account.region == regions["越秀区"]
    assert review_log_for(organization).count() == 3
    call_command("seed_demo", password="Demo#Pass2026")
    assert Organization.objects.count() == 1 and review_log_for(organization).count() == 3
    assert list(Organization.objects.approved()) == [organization]


def test_staff_list_query_count_does_not_grow(client, organization, org_account, django_assert_max_num_queries):
    from registration.models import OrganizationStaff

    OrganizationStaff.objects.create(organization=organization, name="王一")
    client.force_login(org_account)
    url = reverse("registration:organization-staff")
    with django_assert_max_num_queries(15) as first:
        assert "王一" in client.get(url).content.decode()
    for i in range(10):
        OrganizationStaff.objects.create(organization=organization, name=f"员工{i}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert "员工9" in client.get(url).content.decode()
