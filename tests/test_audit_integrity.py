"""Tamper-evident records (SECURITY.md L2, P3): append-only log and history tables enforced by PostgreSQL
triggers (swms/append_only.py), and the hash chain over the security event log (accounts/audit_chain.py)."""

import threading
import time

import pgtrigger
import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, models, transaction
from simple_history.models import HistoricalChanges

from accounts import audit_chain
from accounts.models import SecurityEvent, User, UserKind
from accounts.services import security_event_record
from registration.models import CertificateLookup
from swms import append_only
from swms.models import AppendOnlyError, ReviewLog
from tests.conftest import make_user
from tests.factories import RegistrationFactory

REFUSED = (DatabaseError, AppendOnlyError)
Kind = SecurityEvent.Kind


def expected_tables() -> set[str]:
    """Found independently of swms.append_only: the three log tables and every simple_history table."""
    history = {m._meta.db_table for m in apps.get_models()
               if issubclass(m, HistoricalChanges) and m._meta.app_label != "testapp"}
    assert len(history) >= 25  # every Historical* model, the m2m history tables included
    return {"swms_reviewlog", "accounts_securityevent", "registration_certificatelookup"} | history


def test_every_log_and_history_table_has_enabled_update_and_delete_triggers(db):
    """A new history table (a model given HistoricalRecords) without the triggers fails here."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal AND t.tgname LIKE 'pgtrigger_append_only_%%'"""
        )
        found: dict[str, set[str]] = {}
        for table, name, enabled in cursor.fetchall():
            assert enabled == "O", (table, name)
            found.setdefault(table, set()).add(name.rsplit("_", 1)[0])
    for table in expected_tables():
        assert found.get(table) == {"pgtrigger_append_only_update", "pgtrigger_append_only_delete"}, table


@pytest.fixture
def logged_world(regions, alice):
    """Rows in the log tables and in several history tables: a registration, a review, an event, a lookup."""
    registration = RegistrationFactory(worker__work_region=regions["洪桥街道"])
    ReviewLog.objects.create(
        content_type=ContentType.objects.get_for_model(registration.worker), object_id=registration.worker.pk,
        action="submit", step="applicant", actor=alice, from_state="draft", to_state="submitted",
    )
    security_event_record(kind=Kind.LOGIN, actor=alice, target=alice)
    CertificateLookup.objects.create(certificate=None, token_prefix="abc", found=False)
    return alice


def _refused(statement):
    with pytest.raises(REFUSED):
        with transaction.atomic():
            statement()


def test_orm_and_raw_sql_update_and_delete_refused_on_every_protected_table(logged_world):
    """ORM queryset update/delete, save() of an existing row and raw SQL UPDATE/DELETE, on every protected table
    that holds a row (the log tables and the history tables a registration touches); the catalog test above
    covers the others."""
    exercised = []
    for model in append_only.protected_models():
        row = model._default_manager.order_by("pk").first()
        if row is None:
            continue
        exercised.append(model._meta.db_table)
        table, pk = model._meta.db_table, model._meta.pk.column
        plain = models.QuerySet(model=model).filter(pk=row.pk)  # past any Python-side guard
        _refused(lambda: plain.update(**{model._meta.pk.attname: row.pk}))
        _refused(lambda: plain.delete())
        _refused(lambda: row.save())
        _refused(lambda: model._default_manager.filter(pk=row.pk).delete())

        def raw(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql.format(table=table, pk=pk), [row.pk])

        _refused(lambda: raw('UPDATE "{table}" SET "{pk}" = "{pk}" WHERE "{pk}" = %s'))
        _refused(lambda: raw('DELETE FROM "{table}" WHERE "{pk}" = %s'))
        assert model._default_manager.filter(pk=row.pk).exists()
    assert {"swms_reviewlog", "accounts_securityevent", "registration_certificatelookup",
            "accounts_historicaluser", "registration_historicalsocialworker",
            "registration_historicalregistration", "registration_historicalqualification"} <= set(exercised)


def test_security_event_update_of_content_refused(db, alice):
    event = security_event_record(kind=Kind.LOGIN, actor=alice, target=alice, detail="ok")
    _refused(lambda: SecurityEvent.objects.filter(pk=event.pk).update(detail="forged"))
    bob = make_user("bob2", UserKind.OFFICIAL, alice.region)
    _refused(lambda: SecurityEvent.objects.filter(pk=event.pk).update(actor=bob))  # re-attributed: refused
    _refused(lambda: SecurityEvent.objects.filter(pk=event.pk).update(actor=None, detail="x"))  # NULL + more
    _refused(lambda: SecurityEvent.objects.filter(pk=event.pk).update(actor=None, success=False))


def test_deleting_a_user_sets_log_references_to_null_and_keeps_the_chain(db, alice):
    """The one UPDATE let through: SET_NULL of a deleted user's foreign keys (security events, history rows)."""
    doomed = make_user("doomed", UserKind.OFFICIAL, alice.region)
    event = security_event_record(kind=Kind.ROLE_CHANGED, actor=doomed, target=alice, detail="region")
    alice.full_name = "Alice B"
    alice._history_user = doomed
    alice.save()
    assert alice.history.filter(history_user=doomed).exists()
    before = SecurityEvent.objects.values().get(pk=event.pk)
    User.objects.filter(pk=doomed.pk).delete()
    after = SecurityEvent.objects.values().get(pk=event.pk)
    assert after["actor_id"] is None and after["target_id"] == alice.pk
    assert {k: v for k, v in after.items() if k != "actor_id"} == {k: v for k, v in before.items() if k != "actor_id"}
    assert not alice.history.filter(history_user_id=doomed.pk).exists()
    assert audit_chain.verify()[1] is None


def test_review_log_is_append_only_in_the_database(db, alice):
    log = ReviewLog.objects.create(
        content_type=ContentType.objects.get_for_model(User), object_id=alice.pk, action="submit",
        step="applicant", actor=alice, from_state="draft", to_state="submitted",
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE swms_reviewlog SET comment = 'forged' WHERE id = %s", [log.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM swms_reviewlog WHERE id = %s", [log.pk])


# --- Hash chain ---------------------------------------------------------------------------------------------


def _events(user, n=5):
    return [security_event_record(kind=Kind.LOGIN, actor=user, target=user, detail=f"n{i}", username="张三")
            for i in range(n)]


def test_audit_chain_links_rows_and_verifies(db, alice, capsys):
    events = _events(alice)
    rows = list(SecurityEvent.objects.order_by("id"))
    assert rows[0].prev_hash == "" and all(len(r.entry_hash) == 64 for r in rows)
    assert all(b.prev_hash == a.entry_hash for a, b in zip(rows, rows[1:]))
    assert all(audit_chain.entry_hash(r) == r.entry_hash for r in rows)  # read back: same hash as written
    call_command("verify_audit_chain")
    assert f"{len(events)} security events verified" in capsys.readouterr().out


def _raw(sql, *params, trigger="append_only_update"):
    with pgtrigger.ignore(f"accounts.SecurityEvent:{trigger}"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_audit_chain_flipped_byte_is_reported_with_the_row(db, alice):
    events = _events(alice)
    target = events[2]
    # One byte of one row changed past the trigger (as a database superuser could): "n2" -> "n3".
    _raw("UPDATE accounts_securityevent SET detail = 'n3' WHERE id = %s", target.pk)
    checked, broken = audit_chain.verify()
    assert broken.id == target.pk and "content" in broken.reason
    with pytest.raises(CommandError, match=rf"#{target.pk} \(\d{{4}}-"):
        call_command("verify_audit_chain")


def test_audit_chain_changed_time_or_address_is_reported(db, alice):
    events = _events(alice)
    _raw("UPDATE accounts_securityevent SET created_at = created_at + interval '1 microsecond' WHERE id = %s",
         events[1].pk)
    assert audit_chain.verify()[1].id == events[1].pk


def test_audit_chain_deleted_middle_row_is_reported(db, alice):
    events = _events(alice)
    _raw("DELETE FROM accounts_securityevent WHERE id = %s", events[2].pk, trigger="append_only_delete")
    broken = audit_chain.verify()[1]
    assert broken.id == events[3].pk and "removed" in broken.reason
    with pytest.raises(CommandError, match=f"#{events[3].pk}"):
        call_command("verify_audit_chain")


def test_audit_chain_deleted_first_row_is_reported(db, alice):
    events = _events(alice)
    _raw("DELETE FROM accounts_securityevent WHERE id = %s", events[0].pk, trigger="append_only_delete")
    assert audit_chain.verify()[1].id == events[1].pk


@pytest.mark.django_db(transaction=True)
def test_audit_chain_concurrent_writers_keep_one_chain(regions):
    """Two connections write at once; the first holds its transaction open after its insert. Without the
    advisory lock the second would chain onto the same last row (a fork); with it, it waits."""
    user = make_user("writer", UserKind.OFFICIAL, regions["越秀区"])
    security_event_record(kind=Kind.LOGIN, actor=user)
    inserted = threading.Event()
    errors = []

    def slow_writer():
        try:
            with transaction.atomic():
                security_event_record(kind=Kind.LOGIN, actor=user, detail="slow")
                inserted.set()
                time.sleep(0.5)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            inserted.set()
            connections.close_all()

    def fast_writers():
        try:
            inserted.wait(5)
            for i in range(10):
                security_event_record(kind=Kind.LOGIN, actor=user, detail=f"fast{i}")
        except Exception as e:  # pragma: no cover
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=slow_writer), threading.Thread(target=fast_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    rows = list(SecurityEvent.objects.order_by("id").values_list("prev_hash", "entry_hash"))
    assert len(rows) == 12
    prevs = [p for p, _ in rows]
    assert len(set(prevs)) == len(prevs)  # no two rows chained onto the same one
    assert audit_chain.verify() == (12, None)


def _shipped_events(user, caplog, django_capture_on_commit_callbacks, tmp_path, n=5):
    """Events written and committed; the lines the swms.audit logger shipped, in a log file as the collector
    would keep them."""
    with caplog.at_level("INFO", logger="swms.audit"), django_capture_on_commit_callbacks(execute=True):
        events = _events(user, n)
    lines = [r.getMessage() for r in caplog.records if r.name == "swms.audit"]
    assert len(lines) == n and all(f"#{e.pk} login {e.entry_hash}" in line for e, line in zip(events, lines))
    assert "张三" not in "".join(lines)  # no personal data leaves the box with the hashes
    shipped = tmp_path / "audit.log"
    shipped.write_text("".join(f"2026-12-01 INFO swms.audit {line}\n" for line in lines), encoding="utf-8")
    return events, shipped


def test_shipped_log_matches_the_table(db, alice, caplog, django_capture_on_commit_callbacks, tmp_path, capsys):
    _events_, shipped = _shipped_events(alice, caplog, django_capture_on_commit_callbacks, tmp_path)
    call_command("verify_audit_chain", shipped=[str(shipped)])
    assert "Shipped log matches: 5 shipped events compared." in capsys.readouterr().out


def test_cut_off_tail_passes_the_chain_but_not_the_shipped_log(db, alice, caplog, django_capture_on_commit_callbacks,
                                                                 tmp_path):
    events, shipped = _shipped_events(alice, caplog, django_capture_on_commit_callbacks, tmp_path)
    _raw("DELETE FROM accounts_securityevent WHERE id >= %s", events[3].pk, trigger="append_only_delete")
    assert audit_chain.verify() == (3, None)  # the chain alone cannot tell
    with pytest.raises(CommandError, match="tail was cut off"):
        call_command("verify_audit_chain", shipped=[str(shipped)])


def test_rebuilt_chain_is_caught_by_the_shipped_json_log(db, alice, caplog, django_capture_on_commit_callbacks,
                                                         tmp_path):
    """A database superuser changes a row and recomputes every hash after it: the chain verifies again, the
    hashes shipped before (here as JSON log lines) do not match."""
    import json

    events, shipped = _shipped_events(alice, caplog, django_capture_on_commit_callbacks, tmp_path)
    json_log = tmp_path / "audit.jsonl"
    json_log.write_text("".join(json.dumps({"message": line.split(" swms.audit ", 1)[1].strip(), "request_id": "-"})
                                + "\n" for line in shipped.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    _raw("UPDATE accounts_securityevent SET detail = 'forged' WHERE id = %s", events[1].pk)
    previous = events[0].entry_hash
    for event in SecurityEvent.objects.filter(pk__gte=events[1].pk).order_by("id"):
        event.prev_hash = previous
        event.entry_hash = audit_chain.entry_hash(event)
        _raw("UPDATE accounts_securityevent SET prev_hash = %s, entry_hash = %s WHERE id = %s",
             event.prev_hash, event.entry_hash, event.pk)
        previous = event.entry_hash
    assert audit_chain.verify()[1] is None
    result = audit_chain.verify_shipped(json_log.read_text(encoding="utf-8").splitlines())
    assert result.changed == [e.pk for e in events[1:]] and not result.missing and not result.tail_cut
    with pytest.raises(CommandError, match=f"4 events differ from their shipped hash \\(first #{events[1].pk}\\)"):
        call_command("verify_audit_chain", shipped=[str(json_log)])


def test_shipped_rows_removed_by_a_recorded_purge_are_not_missing(db, alice, caplog,
                                                                 django_capture_on_commit_callbacks, tmp_path):
    events, shipped = _shipped_events(alice, caplog, django_capture_on_commit_callbacks, tmp_path)
    _raw("DELETE FROM accounts_securityevent WHERE id < %s", events[2].pk, trigger="append_only_delete")
    security_event_record(kind=Kind.LOG_PURGE, detail=audit_chain.anchor_detail(events[2].pk, events[1].entry_hash))
    assert audit_chain.verify_shipped(shipped.read_text(encoding="utf-8").splitlines()).ok
    _raw("DELETE FROM accounts_securityevent WHERE id = %s", events[3].pk, trigger="append_only_delete")
    assert audit_chain.verify_shipped(shipped.read_text(encoding="utf-8").splitlines()).missing == [events[3].pk]


def test_audit_lines_reach_a_syslog_server(transactional_db, tmp_path):
    """SWMS_AUDIT_SYSLOG: a process of the project logs a security event; a real UDP syslog listener on loopback
    receives its line, which names the committed row and its hash."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(30)
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swms.settings_test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "SWMS_AUDIT_SYSLOG": f"udp://127.0.0.1:{listener.getsockname()[1]}"}
    script = ("import django; django.setup(); from accounts.services import security_event_record; "
              "print(security_event_record(kind='login', username='operator-x', detail='syslog').pk)")
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        datagram = listener.recv(4096).decode()
    finally:
        listener.close()
    event = SecurityEvent.objects.get(pk=int(done.stdout.split()[-1]))
    assert f"security event #{event.pk} login {event.entry_hash}" in datagram
    assert datagram.startswith("<")  # a syslog priority: authpriv.info
    assert audit_chain.verify_shipped([datagram]).ok
