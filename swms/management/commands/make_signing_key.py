"""Generate the self-signed key pair that signs certificate PDFs when SWMS_SIGNING_KEY_FILE / _CERT_FILE are not
set (the demo, development): var/signing/. Production uses the deployment's own key (swms/settings_prod.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from swms import signing


class Command(BaseCommand):
    help = "Create the demo's self-signed document-signing key and certificate under var/signing/ (once)."

    def handle(self, *args, **options):
        if settings.SWMS_PRODUCTION:
            raise CommandError("Production signs with SWMS_SIGNING_KEY_FILE / SWMS_SIGNING_CERT_FILE, not a demo key.")
        if settings.SWMS_SIGNING_KEY_FILE and settings.SWMS_SIGNING_CERT_FILE:
            self.stdout.write("A signing key is configured (SWMS_SIGNING_KEY_FILE); nothing to generate.")
            return
        folder = signing.make_dev_key()
        self.stdout.write(f"Self-signed demo signing key and certificate in {folder}.")
