"""Every snippet of the users' guide (../shared/seed/users-guide.txt), exactly as written.

The guide's line breaks were lost in its export; the snippets below restore them
and change nothing else. The guide's client has no ``base_url``: like a user's
offline run, the emulator is reached through ``RECALLRAI_BASE_URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from recallrai.emulator import Emulator

SNIPPETS = [
    """
from recallrai import RecallrAI

client = RecallrAI(
    api_key="rai_your_api_key",
    project_id="your_project_id"
)

# Create a user with just an ID
user = client.create_user("alice_123")

# Create a user with metadata
user = client.create_user(
    user_id="bob_456",
    metadata={
        "name": "Bob Smith",
        "email": "bob@example.com",
        "plan": "premium",
        "signup_date": "2024-01-15"
    }
)
print(f"Created user: {user.user_id}")
print(f"Metadata: {user.metadata}")
""",
    """
# List users with pagination
users = client.list_users(
    offset=0,
    limit=20
)
print(f"Total users: {users.total}")
print(f"Retrieved: {len(users.users)} users")
for user in users.users:
    print(f"- {user.user_id} (active: {user.last_active_at})")

# Get next page
if users.has_more():
    next_users = client.list_users(
        offset=users.next_offset(),
        limit=20
    )
""",
    """
# Refresh to get latest data
user.refresh()
print(f"Refreshed at: {user.last_active_at}")
print(f"Current metadata: {user.metadata}")
""",
    '''
# Migrate user ID (e.g., from temporary to permanent ID)
def migrate_user_id(user, new_id):
    """Migrate user to a new ID."""
    old_id = user.user_id
    user.update(new_user_id=new_id)
    print(f"Migrated user from {old_id} to {new_id}")
    return user

# Usage
temp_user = client.get_user("temp_guest_123")
permanent_user = migrate_user_id(temp_user, "registered_user_456")
''',
    """
from recallrai.exceptions import UserNotFoundError

try:
    user = client.get_user("nonexistent_user")
except UserNotFoundError as e:
    print(f"User not found: {e.message}")
    # Handle appropriately (e.g., create user, show error)
""",
    """
from recallrai.exceptions import UserAlreadyExistsError

try:
    user = client.create_user("alice_123")
except UserAlreadyExistsError as e:
    print(f"User already exists: {e.message}")
    # Handle appropriately (get existing user instead)
    user = client.get_user("alice_123")
""",
    """
from recallrai.exceptions import ValidationError

try:
    # Invalid user_id format or invalid metadata
    user = client.create_user("")  # Empty user_id
except ValidationError as e:
    print(f"Invalid data: {e.message}")
""",
]

# The guide's project is "your_project_id"; its "temp_guest_123" exists before the migration runs.
SETUP = """
from recallrai import RecallrAI
with RecallrAI(api_key="rai_setup", project_id="your_project_id") as setup:
    setup.create_user("temp_guest_123")
"""


def run_snippets(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    namespace: dict[str, Any] = {"__name__": "__guide__"}
    exec(SETUP, {})
    try:
        for snippet in SNIPPETS:
            exec(compile(snippet, "<users-guide>", "exec"), namespace)
    finally:
        if "client" in namespace:
            namespace["client"].close()
    return namespace, capsys.readouterr().out


def test_every_guide_snippet_runs_as_written(
    recallrai_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    namespace, out = run_snippets(capsys)

    assert "Created user: bob_456" in out
    assert (
        "Metadata: {'name': 'Bob Smith', 'email': 'bob@example.com', 'plan': 'premium', 'signup_date': '2024-01-15'}"
        in out
    )
    assert "Total users: 3" in out and "Retrieved: 3 users" in out
    assert "Migrated user from temp_guest_123 to registered_user_456" in out
    assert "User not found: User nonexistent_user not found" in out
    assert "User already exists: User alice_123 already exists" in out
    assert "Invalid data: user_id must be a non-empty string" in out
    assert namespace["permanent_user"].user_id == "registered_user_456"
    assert namespace["user"].user_id == "alice_123"  # the except branch fetched the existing user
    methods_paths = [(r.method, r.raw_path) for r in recallrai_emulator.requests]
    assert ("PUT", "/api/v1/users/temp_guest_123") in methods_paths
    assert not any(r.raw_path.endswith("/users/") for r in recallrai_emulator.requests)


def test_guide_script_exits_without_closing_its_client(recallrai_emulator: Emulator) -> None:
    """A script that never closes its client (as the guide) must not hang at exit."""
    recallrai_emulator_setup = textwrap.dedent(SETUP)
    script = recallrai_emulator_setup + "".join(SNIPPETS)
    env = {**os.environ, "RECALLRAI_BASE_URL": recallrai_emulator.base_url}
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Migrated user from temp_guest_123 to registered_user_456" in result.stdout
    assert "ResourceWarning" not in result.stderr and "Unclosed" not in result.stderr
