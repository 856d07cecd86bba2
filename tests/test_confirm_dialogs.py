"""`data-confirm` in real Chromium: the question is asked before an irreversible step, whether it sits on
the form or on the submit button that was used; dismissing it submits nothing, accepting submits."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from services import summaries
from services.models import MonthlySummary
from tests.conftest import PASSWORD, make_user
from tests.test_browser_registration import _login as _login_form
from tests.test_stations import create_station

pytestmark = pytest.mark.browser


def _login(page, base, username, password):
    _login_form(page, base, username, password)
    expect(page.get_by_role("button", name="退出")).to_be_visible()  # logged in before going on


class Dialogs:
    """Records every dialog's text and answers it as told (accept or dismiss)."""

    def __init__(self, page):
        self.seen: list[str] = []
        self.accept = False
        page.on("dialog", self._answer)

    def _answer(self, dialog):
        self.seen.append((dialog.type, dialog.message))
        dialog.accept() if self.accept else dialog.dismiss()


def test_form_level_confirm_on_deactivating_an_official(live_server, transactional_db, regions, page):
    make_user("yx_admin", "official", regions["越秀区"])
    town = make_user("hq_officer", "official", regions["洪桥街道"])
    base = live_server.url
    dialogs = Dialogs(page)
    _login(page, base, "yx_admin", PASSWORD)
    page.goto(f"{base}/accounts/officials/{town.pk}/")

    page.get_by_role("button", name="停用").click()
    expect(page.get_by_role("button", name="停用")).to_be_visible()
    assert dialogs.seen == [("confirm", "确定停用该账号吗？其登录会话将立即失效。")]
    assert User.objects.get(pk=town.pk).is_active  # dismissed: nothing submitted

    dialogs.accept = True
    page.get_by_role("button", name="停用").click()
    expect(page.get_by_role("button", name="启用")).to_be_visible()
    assert len(dialogs.seen) == 2
    assert not User.objects.get(pk=town.pk).is_active


def test_button_level_confirm_asks_only_for_the_button_that_carries_it(
    live_server, transactional_db, regions, page
):
    """The summary form has two submit buttons: saving a draft asks nothing, submitting asks first."""
    county = make_user("yx_sum", "official", regions["越秀区"])
    station, _pw = create_station(county, regions)
    station.account.set_password(PASSWORD)
    station.account.must_change_password = False
    station.account.save()
    summary = summaries.summary_start(station=station, month=datetime.date(2026, 1, 1), actor=station.account)
    base = live_server.url
    dialogs = Dialogs(page)
    _login(page, base, station.code, PASSWORD)
    edit_url = f"{base}/services/summaries/{summary.pk}/edit/"
    page.goto(edit_url)

    page.locator("#id_text").fill("一月开展探访。")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("草稿已保存")).to_be_visible()
    assert dialogs.seen == []  # no question for a draft
    assert MonthlySummary.objects.get(pk=summary.pk).text == "一月开展探访。"

    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("button", name="提交", exact=True)).to_be_visible()
    assert len(dialogs.seen) == 1
    kind, message = dialogs.seen[0]
    assert kind == "confirm" and message.startswith("确定提交总结吗？")
    assert MonthlySummary.objects.get(pk=summary.pk).status == "draft"  # dismissed: nothing submitted

    dialogs.accept = True
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/edit/$"))
    assert len(dialogs.seen) == 2
    assert MonthlySummary.objects.get(pk=summary.pk).status == "submitted"
