"""Benchmark settings: the project's settings plus plain admin changelists of the list models
(scalelib.admin_urls registers them before the project's URLconf builds the admin URLs)."""

from swms.settings import *  # noqa: F401,F403

ROOT_URLCONF = "scalelib.admin_urls"
