"""Fixtures of the contract test: real users and projects in the test stack's database, and the
stack's signing secret. `scripts/dev test` runs it against the stack it brought up."""

import os
import subprocess
import uuid

import pytest


def sql(statement: str) -> str:
    """Runs one statement on the test database; its first value."""
    return subprocess.run(
        ["psql", os.environ["TEST_DATABASE_URL"], "-Atq", "-v", "ON_ERROR_STOP=1", "-c", statement],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[0]


def stack_settings() -> dict:
    path = os.path.join(os.path.dirname(os.environ["TEST_LOG_DIR"].rstrip("/")), "..", "test.env")
    values = {}
    with open(os.path.normpath(path)) as lines:
        for line in lines:
            if "=" in line and not line.startswith("#"):
                name, value = line.rstrip("\n").split("=", 1)
                values[name] = value
    return values


@pytest.fixture(scope="session")
def stack() -> dict:
    """Who calls, and with what: a user with a linked project (its connection revoked, so Vercel is
    never reached) and a project of their own not linked, an administrator, the secret."""
    tag = uuid.uuid4().hex[:8]
    user = sql(f"INSERT INTO users (email) VALUES ('fuzz-{tag}@example.com') RETURNING id")
    admin = sql(f"INSERT INTO users (email, role) VALUES ('fuzz-admin-{tag}@example.com', 'admin') RETURNING id")
    linked = sql(f"INSERT INTO projects (owner_id, name) VALUES ('{user}', 'fuzz-linked') RETURNING id")
    unlinked = sql(f"INSERT INTO projects (owner_id, name) VALUES ('{user}', 'fuzz-unlinked') RETURNING id")
    connection = sql(
        f"INSERT INTO vercel_connections (user_id, account_type, status) VALUES ('{user}', 'personal', 'revoked') RETURNING id")
    sql(
        "INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id) "
        f"VALUES ('{linked}', '{connection}', 'prj_fuzz_{tag}') RETURNING id")
    sql(
        "INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_id, deployment_state, deployment_type) "
        f"VALUES ('dpl_fuzz_{tag}', vercel_deployment_created_at('dpl_fuzz_{tag}', now()), '{linked}', 'prj_fuzz_{tag}', "
        "'READY', 'PREVIEW') RETURNING deployment_id")
    return {
        "base_url": os.environ["TEST_BASE_URL"], "secret": stack_settings()["SHEEN_HMAC_SECRET"], "user": user,
        "admin": admin, "projects": [linked, unlinked], "deployment": f"dpl_fuzz_{tag}",
    }
