"""Dependency audit (SECURITY.md D4): `make audit` (.ci/audit.py) fails on a known vulnerability and never
passes silently when pip-audit could not audit. pip-audit is replaced by a script printing its JSON report:
the vulnerability services themselves are not reachable from every machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parent.parent / ".ci" / "audit.py"


def _run(tmp_path, report: dict | None, *args, exit_code: int = 0):
    fake = tmp_path / "pip-audit"
    body = json.dumps(report) if report is not None else "not json"
    fake.write_text(f"#!{sys.executable}\nimport sys\nprint({body!r})\nsys.exit({exit_code})\n")
    fake.chmod(0o755)
    return subprocess.run([sys.executable, str(AUDIT), *args], capture_output=True, text=True,
                          env={**os.environ, "PIP_AUDIT": str(fake)}, timeout=60)


CLEAN = {"dependencies": [{"name": "django", "version": "5.2.9", "vulns": []},
                          {"name": "swms", "version": "0.1", "skip_reason": "editable"}], "fixes": []}


def test_audit_passes_a_clean_environment(tmp_path):
    result = _run(tmp_path, CLEAN)
    assert result.returncode == 0 and "no known vulnerability" in result.stdout


def test_audit_fails_on_a_known_vulnerability(tmp_path):
    report = {"dependencies": [{"name": "django", "version": "5.2.0", "vulns": [
        {"id": "PYSEC-2025-1", "aliases": ["CVE-2025-0001"], "fix_versions": ["5.2.2"], "description": "x"}]}]}
    result = _run(tmp_path, report, exit_code=1)
    assert result.returncode == 1
    assert "django 5.2.0: PYSEC-2025-1 CVE-2025-0001 (fixed in 5.2.2)" in result.stdout


@pytest.mark.parametrize("args,code", [((), 2), (("--unreachable-ok",), 0)])
def test_audit_never_passes_silently_when_nothing_was_audited(tmp_path, args, code):
    report = {"dependencies": [{"name": "django", "version": "5.2.9",
                                "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
    result = _run(tmp_path, report, *args)
    assert result.returncode == code
    assert "DEPENDENCY AUDIT NOT DONE" in result.stderr


def test_audit_fails_when_pip_audit_breaks(tmp_path):
    result = _run(tmp_path, None, exit_code=1)
    assert result.returncode == 2 and "failed" in result.stderr
