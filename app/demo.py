"""Demo data for a first look: idempotent, so `flask demo seed` can run on every start."""

from app.users.models import ADMIN, CASHIER, SUPERVISOR
from app.users.services import create_user, find_by_username

# Demo-only credentials, printed by `flask demo seed`; the command refuses to run in production.
DEMO_USERS = (
    ("admin", "Ayu Admin", ADMIN, "admin12345"),
    ("supervisor", "Sari Supervisor", SUPERVISOR, "super12345"),
    ("cashier", "Budi Kasir", CASHIER, "kasir12345"),
)


def seed_demo_data():
    for username, full_name, role, password in DEMO_USERS:
        if find_by_username(username) is None:
            create_user(username=username, full_name=full_name, role=role, password=password)
            yield f"created user {username} ({role})"
        else:
            yield f"user {username} already there"
    yield "Demo logins (development only):"
    for username, _, role, password in DEMO_USERS:
        yield f"  {username:<11} / {password}"
