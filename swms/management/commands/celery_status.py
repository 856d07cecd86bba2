"""What the Celery side is doing, read from the database (works while Redis is down): each worker's last
heartbeat and queues, beat's last tick, and the outbox's pending tasks."""

import json

from django.core.management.base import BaseCommand, CommandError

from swms.heartbeats import beat_alive, status, worker_alive


class Command(BaseCommand):
    help = "Show Celery workers (last heartbeat, queues), beat's last tick and the outbox backlog."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object (for monitoring).")
        parser.add_argument("--check-worker", metavar="HOSTNAME",
                            help="Exit 1 unless this worker (its -n name) sent a heartbeat lately (a healthcheck).")
        parser.add_argument("--check-beat", action="store_true",
                            help="Exit 1 unless beat sent its heartbeat task in the last 3 minutes (a healthcheck).")

    def handle(self, *args, **options):
        if options["check_worker"] or options["check_beat"]:
            failed = [what for what, ok in (
                (f"worker {options['check_worker']}", not options["check_worker"]
                 or worker_alive(options["check_worker"])),
                ("beat", not options["check_beat"] or beat_alive()),
            ) if not ok]
            if failed:
                raise CommandError(f"no recent heartbeat: {', '.join(failed)}")
            self.stdout.write("ok")
            return
        data = status()
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write("Workers:")
        if not data["workers"]:
            self.stdout.write("  (none has ever reported)")
        for w in data["workers"]:
            self.stdout.write(f"  {w['hostname']:<40} {w['state']:<8} last seen {w['last_seen_seconds']:>8.0f} s ago"
                              f"  queues: {', '.join(w['queues']) or '-'}")
        beat = data["beat"]

        def ago(seconds):
            return "never" if seconds is None else f"{seconds:.0f} s ago"

        self.stdout.write(f"Beat: heartbeat sent {ago(beat['sent_seconds_ago'])}, run by a worker "
                          f"{ago(beat['ran_seconds_ago'])}" + (f" ({beat['ran_by']})" if beat["ran_by"] else ""))
        box = data["outbox"]
        oldest = box["oldest_pending_seconds"]
        self.stdout.write(f"Outbox: {box['pending']} pending" + (f", oldest queued {oldest:.0f} s ago" if box["pending"] else ""))
