"""Chinese sentences take Chinese punctuation: a label's colon is "：" and a bracketed note "（…）" in
zh-Hans, while English keeps ": " and " (…)" — one template tag and one filter decide."""

from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from tests.registration_fixtures import submitted_application


def _render(source: str, **context) -> str:
    return Template("{% load i18n swms %}" + source).render(Context(context))


def test_colon_and_brackets_follow_the_language():
    with translation.override("zh-hans"):
        assert _render('{% translate "Username" %}{% colon %}x') == "用户名：x"
        assert _render("A{{ v|parens }}", v="助理社会工作师") == "A（助理社会工作师）"
        assert _render("A{{ v|parens }}", v="") == "A"
    with translation.override("en"):
        assert _render('{% translate "Username" %}{% colon %}x') == "Username: x"
        assert _render("A{{ v|parens }}", v="assistant") == "A (assistant)"


def test_brackets_escape_their_value():
    with translation.override("zh-hans"):
        assert _render("{{ v|parens }}", v="<b>") == "（&lt;b&gt;）"


def test_application_page_reads_with_chinese_punctuation(client, worker_in):
    worker = worker_in()
    application = submitted_application(worker)
    client.force_login(worker.user)
    page = client.get(reverse("registration:application-detail", args=[application.pk]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "取证方式：" in page and "取证方式:" not in page
    assert f"{application.qualification.certificate_no}（助理社会工作师）" in page
