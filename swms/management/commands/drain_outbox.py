"""Publish the queued tasks that are still waiting in the outbox (swms/outbox.py): what beat's
`swms.tasks.drain_outbox` does every minute, by hand (after a Redis outage, or with beat stopped)."""

from django.core.management.base import BaseCommand, CommandError

from swms import outbox


class Command(BaseCommand):
    help = "Publish the tasks waiting in the outbox to the broker; prints how many were sent and are left."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=200, help="Rows per batch (default 200).")

    def handle(self, *args, **options):
        result = outbox.drain(batch=options["batch"], max_batches=10**6)
        age = result["oldest_pending_seconds"]
        self.stdout.write(
            f"sent {result['sent']}, pending {result['pending']}"
            + (f" (oldest {age:.0f} s)" if age is not None else "")
            + f", purged {result['purged']} old sent rows"
        )
        if result["failed"]:
            raise CommandError("The broker is unreachable: the pending tasks stay in the outbox.")
