"""Issue #16: the region tree's `base` parameter becomes the links of the tree nodes; only a path on this site
that cannot be read as another host may be used (swms.http.safe_local_path), anything else is dropped."""

import pytest
from django.urls import reverse

from swms.http import safe_local_path

BAD = [
    "/\\evil.example",
    "//evil.example",
    "\\\\evil",
    "\\evil",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/\tevil",
    "/\t/evil.example",
    "\t//evil.example",
    "/\n/evil.example",
    "/\r\n/evil",
    " /registry/",
    "/registry/\x00",
    "/%00evil",
    "/%0a/evil",
    "https://evil.example/",
    "http:/evil.example",
    "evil.example",
    "/registry/?next=//evil",
    "/registry/#x",
    '/registry/"onmouseover=alert(1)',
    "/registry/<script>",
    "",
    None,
]


@pytest.mark.parametrize("value", BAD)
def test_unsafe_bases_are_dropped(value):
    assert safe_local_path(value) == ""


@pytest.mark.parametrize("value", ["/", "/registry/", "/stations/workers/", "/services/activities/case/",
                                   "/registry/%E5%B9%BF%E5%B7%9E/"])
def test_paths_on_this_site_are_kept(value):
    assert safe_local_path(value) == value


@pytest.mark.parametrize("value", ["/\\evil.example", "//evil.example", "\\\\evil", "javascript:alert(1)",
                                   "/%5Cevil", "/\t/evil.example", "/\n/evil.example"])
def test_the_region_tree_renders_no_link_to_another_host(client, regions, alice, value):
    client.force_login(alice)
    url = reverse("accounts:region-children", kwargs={"pk": regions["越秀区"].pk})
    page = client.get(url, {"base": value}).content.decode()
    assert 'class="tree-link' in page
    assert "evil" not in page and "javascript" not in page
    assert f'href="?region={regions["洪桥街道"].pk}"' in page  # the base dropped: a link on the same page


def test_the_region_tree_keeps_a_local_base(client, regions, alice):
    client.force_login(alice)
    url = reverse("accounts:region-children", kwargs={"pk": regions["越秀区"].pk})
    page = client.get(url, {"base": "/registry/"}).content.decode()
    assert f'href="/registry/?region={regions["洪桥街道"].pk}"' in page
