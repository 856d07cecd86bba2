"""Create an operator account holding one of the three roles (三员分立, MLPS level 3: Z5).

Operators are never superusers: `manage.py createsuperuser` is not how operators are made (a superuser passes
every check, so the three roles could not be kept apart; `manage.py check --deploy` reports any superuser).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import OperatorRole
from accounts.operator_roles import operator_create
from accounts.services import AccountError


class Command(BaseCommand):
    help = ("Create an operator (system administrator, security administrator or security auditor) and print "
            "a random initial password, to be changed at first login.")

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, choices=OperatorRole.values,
                            help="system: configuration and data; security: accounts and roles; audit: reads logs")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--full-name", default="")

    def handle(self, *args, role, username, email, full_name, **options):
        username = username.strip()
        if not username:
            raise CommandError("The username must not be blank.")
        try:
            user, password = operator_create(username=username, role=role, email=email, full_name=full_name)
        except AccountError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(f"Created {user.get_operator_role_display()} {user.username}.")
        self.stdout.write(f"Initial password (shown once, must be changed at first login): {password}")
