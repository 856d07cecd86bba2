"""Workers' usernames (P1/P2): not their ID number, which is personal data and would be stored and logged in
plain text as a username. A worker's username is `sw` + 16 random hex digits (64 bits: among millions of
accounts a collision is as good as impossible, and the unique username would refuse one); workers log in with
their ID number or mobile number plus password (accounts.backends), the username is only the account's handle."""

from __future__ import annotations

import secrets

PREFIX = "sw"


def worker_username() -> str:
    return f"{PREFIX}{secrets.token_hex(8)}"
