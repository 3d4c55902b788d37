"""Staff accounts under /api/users: admins only, deactivate instead of delete, never lose the last admin."""

import json
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.stores.models import default_store
from app.users.models import User
from tests.helpers import assert_error


def user_rows(app):
    """Every user row, by username, as plain values."""
    with app.app_context():
        return {
            user.username: {
                "id": user.id,
                "full_name": user.full_name,
                "role": user.role,
                "is_active": user.is_active,
                "password_hash": user.password_hash,
                "token_version": user.token_version,
                "store_id": user.store_id,
            }
            for user in db.session.scalars(select(User))
        }


def row_by_id(app, user_id):
    return next((row for row in user_rows(app).values() if row["id"] == user_id), None)


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def no_password_anywhere(response):
    return "password" not in response.get_data(as_text=True)


NEW_CASHIER = {"username": "  Kasir.Dua ", "full_name": " Dewi Kasir ", "role": "cashier", "password": "kasir-password"}


# --- create -----------------------------------------------------------------------


def test_admin_creates_a_user_with_a_normalized_username_and_a_hashed_password(app, client, auth_headers):
    response = client.post("/api/users", headers=auth_headers("admin"), json=NEW_CASHIER)

    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "kasir.dua"
    assert body["full_name"] == "Dewi Kasir"
    assert body["role"] == "cashier"
    assert body["is_active"] is True
    assert isinstance(body["id"], int)
    assert no_password_anywhere(response)

    row = user_rows(app)["kasir.dua"]
    assert row["id"] == body["id"]
    assert row["full_name"] == "Dewi Kasir"
    assert row["password_hash"].startswith("$argon2id$")
    assert "kasir-password" not in row["password_hash"]
    with app.app_context():
        assert row["store_id"] == default_store().id

    login = client.post("/api/auth/login", json={"username": "KASIR.DUA", "password": "kasir-password"})
    assert login.status_code == 200
    assert login.get_json()["user"]["role"] == "cashier"


@pytest.mark.parametrize("role", ["admin", "supervisor", "cashier"])
def test_every_role_can_be_created(app, client, auth_headers, role):
    body = {"username": f"new-{role}", "full_name": "New", "role": role, "password": "long-enough-pw"}
    response = client.post("/api/users", headers=auth_headers("admin"), json=body)
    assert response.status_code == 201
    assert user_rows(app)[f"new-{role}"]["role"] == role


def test_duplicate_username_is_409_whatever_the_case(app, client, auth_headers, make_user):
    existing = make_user("cashier", username="kasir.dua")
    headers = auth_headers("admin")
    before = user_rows(app)

    response = client.post("/api/users", headers=headers, json={**NEW_CASHIER, "role": "admin"})

    body = assert_error(response, 409)
    assert "username" in body["errors"]["json"]
    assert user_rows(app) == before
    assert before["kasir.dua"]["id"] == existing["id"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"role": "owner"}, "role"),
        ({"role": "Admin"}, "role"),
        ({"password": "short"}, "password"),
        ({"password": "p" * 129}, "password"),
        ({"username": "a"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "-dash-first"}, "username"),
        ({"username": "u" * 65}, "username"),
        ({"username": "kasir@toko"}, "username"),
        ({"full_name": ""}, "full_name"),
        ({"is_active": False}, "is_active"),
        ({"password_hash": "$argon2id$whatever"}, "password_hash"),
        ({"store_id": 99}, "store_id"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}" for k in value),
)
def test_create_with_bad_input_is_422_naming_the_field_and_creates_nothing(app, client, auth_headers, changes, field):
    headers = auth_headers("admin")
    before = user_count(app)

    response = client.post("/api/users", headers=headers, json={**NEW_CASHIER, **changes})

    body = assert_error(response, 422)
    assert field in body["errors"]["json"]
    assert no_password_anywhere(response) or field.startswith("password")
    assert user_count(app) == before


@pytest.mark.parametrize("missing", ["username", "full_name", "role", "password"])
def test_create_without_a_required_field_is_422(app, client, auth_headers, missing):
    headers = auth_headers("admin")
    before = user_count(app)
    body = {key: value for key, value in NEW_CASHIER.items() if key != missing}

    response = client.post("/api/users", headers=headers, json=body)

    assert missing in assert_error(response, 422)["errors"]["json"]
    assert user_count(app) == before


# --- guessable passwords (NIST SP 800-63B: a list of known-bad ones and a strength estimate) ---


@pytest.mark.parametrize(
    "password, reason",
    [
        ("12345678", "top-10 common password"),
        ("password", "top-10 common password"),
        ("aaaaaaaa", "Repeats"),
        ("        ", "Repeats"),
        ("Passw0rd", "similar to a commonly used password"),
    ],
    ids=["digits", "password", "repeated letter", "eight spaces", "leet"],
)
def test_create_with_a_guessable_password_is_422_saying_why_and_creates_nothing(app, client, auth_headers,
                                                                                  password, reason):
    headers = auth_headers("admin")
    before = user_rows(app)

    response = client.post("/api/users", headers=headers, json={**NEW_CASHIER, "password": password})

    body = assert_error(response, 422)
    reasons = body["errors"]["json"]["password"]
    assert reason in reasons[0]
    assert "password" in body["message"] and reason in body["message"]
    assert user_rows(app) == before


@pytest.mark.parametrize(
    "password",
    ["DewiKasir2026", "kasir.dua.2026", "TokoUtama2026", "Warung2026!"],
    ids=["full name", "username", "store name", "shop word"],
)
def test_create_with_the_user_s_store_s_or_shop_s_words_is_422(app, client, auth_headers, password):
    headers = auth_headers("admin")
    before = user_count(app)

    response = client.post("/api/users", headers=headers, json={**NEW_CASHIER, "password": password})

    assert "name" in assert_error(response, 422)["errors"]["json"]["password"][0]
    assert user_count(app) == before


def test_create_with_a_passphrase_is_201(app, client, auth_headers):
    response = client.post("/api/users", headers=auth_headers("admin"),
                           json={**NEW_CASHIER, "password": "gerobak hujan pelangi"})

    assert response.status_code == 201, response.get_json()
    assert "kasir.dua" in user_rows(app)


def test_reset_to_a_guessable_password_is_422_and_changes_nothing(app, client, auth_headers, make_user):
    headers = auth_headers("admin")
    cashier = make_user("cashier", username="budi", full_name="Budi Santoso")
    before = row_by_id(app, cashier["id"])

    for password in ("password1", "budisantoso", "qwertyuiop"):
        response = client.post(f"/api/users/{cashier['id']}/password", headers=headers, json={"new_password": password})
        assert assert_error(response, 422)["errors"]["json"]["new_password"]

    assert row_by_id(app, cashier["id"]) == before


# --- list -----------------------------------------------------------------------


def test_list_paginates_with_an_x_pagination_header(app, client, auth_headers, make_user):
    headers = auth_headers("admin")  # one admin plus five more
    for number in range(5):
        make_user("cashier", username=f"kasir-{number}")

    response = client.get("/api/users?page=2&page_size=2", headers=headers)

    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 6
    assert pagination["total_pages"] == 3
    assert pagination["page"] == 2
    body = response.get_json()
    assert [user["username"] for user in body] == ["kasir-1", "kasir-2"]  # after the admin-... one
    assert no_password_anywhere(response)
    assert set(body[0]) >= {"id", "username", "full_name", "role", "is_active", "store_id", "created_at"}

    everyone = client.get("/api/users?page_size=100", headers=headers).get_json()
    assert len(everyone) == 6
    assert [user["username"] for user in everyone] == sorted(user["username"] for user in everyone)


@pytest.mark.parametrize("query", ["page_size=101", "page_size=0", "page=0", "page=x", "role=owner", "is_active=maybe",
                                   "q=" + "x" * 65])
def test_list_with_bad_query_is_422(client, auth_headers, query):
    body = assert_error(client.get(f"/api/users?{query}", headers=auth_headers("admin")), 422)
    assert query.split("=")[0] in body["errors"]["query"]


def test_list_searches_username_and_full_name_without_regard_to_case(client, auth_headers, make_user):
    headers = auth_headers("admin")
    make_user("cashier", username="budi", full_name="Budi Santoso")
    make_user("cashier", username="kasir-pagi", full_name="Siti Rahma")
    make_user("supervisor", username="rahmat", full_name="Rahmat Hidayat")

    def usernames(query):
        response = client.get(f"/api/users?{query}", headers=headers)
        assert response.status_code == 200
        return sorted(user["username"] for user in response.get_json())

    assert usernames("q=BUDI") == ["budi"]
    assert usernames("q=santoso") == ["budi"]
    assert usernames("q=rahm") == ["kasir-pagi", "rahmat"]
    assert usernames("q=nobody") == []


def test_list_search_treats_wildcard_characters_literally(client, auth_headers, make_user):
    # '_' is allowed in usernames and '%' may be typed; neither may match "anything".
    headers = auth_headers("admin")
    make_user("cashier", username="kasir_pagi", full_name="Shift 100% Pagi")
    make_user("cashier", username="kasirxpagi", full_name="Shift 1000 Pagi")

    def usernames(query):
        response = client.get("/api/users", query_string={"q": query}, headers=headers)
        assert response.status_code == 200
        return sorted(user["username"] for user in response.get_json())

    assert usernames("kasir_") == ["kasir_pagi"]
    assert usernames("100%") == ["kasir_pagi"]
    assert usernames("%") == ["kasir_pagi"]


def test_list_filters_by_role_and_active_flag(client, auth_headers, make_user):
    headers = auth_headers("admin")
    active_cashier = make_user("cashier")
    inactive_cashier = make_user("cashier", is_active=False)
    supervisor = make_user("supervisor")

    def usernames(query):
        response = client.get(f"/api/users?{query}", headers=headers)
        assert response.status_code == 200
        return sorted(user["username"] for user in response.get_json())

    assert usernames("role=cashier") == sorted([active_cashier["username"], inactive_cashier["username"]])
    assert usernames("role=cashier&is_active=true") == [active_cashier["username"]]
    assert usernames("is_active=false") == [inactive_cashier["username"]]
    assert usernames("role=supervisor") == [supervisor["username"]]


# --- get and patch ----------------------------------------------------------------


def test_get_one_user(client, auth_headers, make_user):
    cashier = make_user("cashier")
    response = client.get(f"/api/users/{cashier['id']}", headers=auth_headers("admin"))
    assert response.status_code == 200
    assert response.get_json()["username"] == cashier["username"]
    assert no_password_anywhere(response)


@pytest.mark.parametrize("method, suffix, body", [
    ("get", "", None),
    ("patch", "", {"full_name": "Ghost"}),
    ("delete", "", None),
    ("post", "/password", {"new_password": "a-new-password"}),
])
def test_unknown_user_is_404(app, client, auth_headers, method, suffix, body):
    headers = auth_headers("admin")
    before = user_rows(app)
    response = getattr(client, method)(f"/api/users/999999{suffix}", headers=headers, json=body)
    assert_error(response, 404)
    assert user_rows(app) == before


def test_patch_changes_name_role_and_active_flag(app, client, auth_headers, make_user):
    headers = auth_headers("admin")
    cashier = make_user("cashier")

    response = client.patch(
        f"/api/users/{cashier['id']}", headers=headers, json={"full_name": "  Budi Promoted ", "role": "supervisor"}
    )

    assert response.status_code == 200
    assert response.get_json()["full_name"] == "Budi Promoted"
    assert response.get_json()["role"] == "supervisor"
    row = row_by_id(app, cashier["id"])
    assert (row["full_name"], row["role"], row["is_active"]) == ("Budi Promoted", "supervisor", True)

    response = client.patch(f"/api/users/{cashier['id']}", headers=headers, json={"is_active": False})
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert row_by_id(app, cashier["id"])["is_active"] is False


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"role": "owner"}, "role"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "x" * 121}, "full_name"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"username": "renamed"}, "username"),
        ({"password": "a-new-password"}, "password"),
        ({"token_version": 1}, "token_version"),
    ],
    ids=["bad role", "blank name", "long name", "bad flag", "username", "password", "token_version"],
)
def test_patch_with_bad_input_is_422_and_changes_nothing(app, client, auth_headers, make_user, changes, field):
    headers = auth_headers("admin")
    cashier = make_user("cashier")
    before = user_rows(app)

    response = client.patch(f"/api/users/{cashier['id']}", headers=headers, json=changes)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert user_rows(app) == before


# --- deactivate, reset password ----------------------------------------------------


def test_delete_deactivates_and_keeps_the_row(app, client, auth_headers, make_user):
    headers = auth_headers("admin")
    cashier = make_user("cashier")
    before = row_by_id(app, cashier["id"])

    response = client.delete(f"/api/users/{cashier['id']}", headers=headers)

    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    after = row_by_id(app, cashier["id"])
    assert after is not None
    assert after["is_active"] is False
    assert after["token_version"] > before["token_version"]
    assert after["password_hash"] == before["password_hash"]
    login = client.post("/api/auth/login", json={"username": cashier["username"], "password": cashier["password"]})
    assert_error(login, 401)
    listed = client.get("/api/users?is_active=false", headers=headers).get_json()
    assert [user["id"] for user in listed] == [cashier["id"]]


def test_reset_password_sets_a_new_hash(app, client, auth_headers, make_user):
    headers = auth_headers("admin")
    cashier = make_user("cashier")
    before = row_by_id(app, cashier["id"])

    response = client.post(f"/api/users/{cashier['id']}/password", headers=headers, json={"new_password": "reset-by-admin"})

    assert response.status_code == 200
    assert response.get_json()["id"] == cashier["id"]
    assert no_password_anywhere(response)
    after = row_by_id(app, cashier["id"])
    assert after["password_hash"] != before["password_hash"]
    assert after["password_hash"].startswith("$argon2id$")
    assert after["token_version"] > before["token_version"]


@pytest.mark.parametrize(
    "body, field",
    [({"new_password": "short"}, "new_password"), ({}, "new_password"), ({"new_password": "long-enough", "x": 1}, "x")],
    ids=["short", "missing", "unknown field"],
)
def test_reset_password_with_bad_input_is_422_and_changes_nothing(app, client, auth_headers, make_user, body, field):
    headers = auth_headers("admin")
    cashier = make_user("cashier")
    before = row_by_id(app, cashier["id"])

    response = client.post(f"/api/users/{cashier['id']}/password", headers=headers, json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert row_by_id(app, cashier["id"]) == before


# --- who may --------------------------------------------------------------------------


def _user_endpoints(target_id):
    body = {"username": "sneaky", "full_name": "Sneaky", "role": "admin", "password": "sneaky-password"}
    return [
        ("get", "/api/users", None),
        ("post", "/api/users", body),
        ("get", f"/api/users/{target_id}", None),
        ("patch", f"/api/users/{target_id}", {"role": "cashier", "is_active": False}),
        ("delete", f"/api/users/{target_id}", None),
        ("post", f"/api/users/{target_id}/password", {"new_password": "taken-over-pw"}),
    ]


@pytest.mark.parametrize("role", ["supervisor", "cashier"])
def test_supervisor_and_cashier_get_403_on_every_users_endpoint_and_change_nothing(app, client, make_user, auth_headers, role):
    admin = make_user("admin")
    headers = auth_headers(role)
    before = user_rows(app)

    for method, path, body in _user_endpoints(admin["id"]):
        response = getattr(client, method)(path, headers=headers, json=body)
        assert_error(response, 403)

    assert user_rows(app) == before


def test_staff_cannot_raise_their_own_role(app, client, make_user, auth_headers):
    make_user("admin")
    cashier = make_user("cashier")

    response = client.patch(f"/api/users/{cashier['id']}", headers=auth_headers(user=cashier), json={"role": "admin"})

    assert_error(response, 403)
    assert row_by_id(app, cashier["id"])["role"] == "cashier"


def test_no_token_is_401_on_every_users_endpoint_and_changes_nothing(app, client, make_user):
    admin = make_user("admin")
    before = user_rows(app)

    for method, path, body in _user_endpoints(admin["id"]):
        assert_error(getattr(client, method)(path, json=body), 401)

    assert user_rows(app) == before


def test_access_is_checked_before_the_body_is_read(app, client, auth_headers):
    # A caller who may not do this learns nothing about what a valid body looks like.
    cashier = auth_headers("cashier")
    before = user_count(app)
    bad_body = {"role": "owner", "password": "x"}

    assert_error(client.post("/api/users", json=bad_body), 401)
    assert_error(client.post("/api/users", headers=cashier, json=bad_body), 403)
    assert_error(client.post("/api/users", headers=cashier, data="{bad", content_type="application/json"), 403)
    assert user_count(app) == before


# --- the last active admin -------------------------------------------------------------


@pytest.mark.parametrize(
    "method, body",
    [("patch", {"role": "supervisor"}), ("patch", {"is_active": False}), ("delete", None),
     ("patch", {"role": "cashier", "full_name": "Renamed Too"})],
    ids=["demote", "deactivate", "delete", "demote and rename"],
)
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, client, make_user, auth_headers, method, body):
    admin = make_user("admin")
    make_user("admin", is_active=False)  # an inactive admin does not count
    headers = auth_headers(user=admin)
    before = user_rows(app)

    response = getattr(client, method)(f"/api/users/{admin['id']}", headers=headers, json=body)

    assert_error(response, 409)
    assert user_rows(app) == before
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_the_last_active_admin_can_still_be_renamed(app, client, make_user, auth_headers):
    admin = make_user("admin")
    headers = auth_headers(user=admin)

    response = client.patch(f"/api/users/{admin['id']}", headers=headers, json={"full_name": "Still In Charge", "role": "admin"})

    assert response.status_code == 200
    assert row_by_id(app, admin["id"])["full_name"] == "Still In Charge"


def test_with_two_admins_one_can_be_demoted_but_then_not_the_other(app, client, make_user, auth_headers):
    first = make_user("admin")
    second = make_user("admin")
    headers = auth_headers(user=first)

    response = client.patch(f"/api/users/{second['id']}", headers=headers, json={"role": "supervisor"})

    assert response.status_code == 200
    assert row_by_id(app, second["id"])["role"] == "supervisor"
    assert_error(client.delete(f"/api/users/{first['id']}", headers=headers), 409)
    assert row_by_id(app, first["id"])["is_active"] is True


@pytest.mark.parametrize(
    "method, body",
    [("delete", None), ("patch", {"is_active": False}), ("patch", {"role": "supervisor"}),
     ("patch", {"role": "cashier", "full_name": "Renamed Too"})],
    ids=["delete", "deactivate", "demote", "demote and rename"],
)
def test_an_admin_cannot_deactivate_or_demote_themselves_even_with_another_admin(app, client, make_user,
                                                                                 auth_headers, method, body):
    first = make_user("admin")
    make_user("admin")
    headers = auth_headers(user=first)
    before = user_rows(app)

    response = getattr(client, method)(f"/api/users/{first['id']}", headers=headers, json=body)

    assert "your own" in assert_error(response, 409)["message"]
    assert user_rows(app) == before
    assert row_by_id(app, first["id"])["is_active"] is True
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_an_admin_cannot_reset_their_own_password_without_the_current_one(app, client, make_user, auth_headers):
    """The reset asks for no current password, so on one's own account a stolen token would take the account."""
    admin = make_user("admin")
    headers = auth_headers(user=admin)
    before = user_rows(app)

    response = client.post(f"/api/users/{admin['id']}/password", headers=headers,
                           json={"new_password": "Kopi susu gula aren 2026"})

    assert "/api/auth/password" in assert_error(response, 409)["message"]
    assert user_rows(app) == before
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_another_admin_may_deactivate_or_demote_an_admin(app, client, make_user, auth_headers):
    first = make_user("admin")
    second = make_user("admin")
    third = make_user("admin")
    headers = auth_headers(user=second)

    assert client.patch(f"/api/users/{third['id']}", headers=headers, json={"role": "supervisor"}).status_code == 200
    assert client.delete(f"/api/users/{first['id']}", headers=headers).status_code == 200

    assert row_by_id(app, first["id"])["is_active"] is False
    assert row_by_id(app, third["id"])["role"] == "supervisor"
    assert row_by_id(app, second["id"])["role"] == "admin"


@pytest.mark.parametrize("round_number", range(3))
def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, make_user, auth_headers, round_number):
    admins = [make_user("admin"), make_user("admin")]
    headers = [auth_headers(user=admin) for admin in admins]
    start = threading.Barrier(2)
    answers = [None, None]

    def demote_the_other(me):
        client = app.test_client()
        other = admins[1 - me]
        start.wait()
        response = client.patch(
            f"/api/users/{other['id']}", headers=headers[me], json={"role": "cashier"}
        )
        answers[me] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=demote_the_other, args=(me,)) for me in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 200, answers
    # The loser was either refused as the last admin, or no longer an admin when it was authorized.
    assert statuses[1] in (403, 409), answers
    loser_body = next(body for status, body in answers if status != 200)
    assert loser_body["code"] == statuses[1]
    rows = user_rows(app)
    active_admins = [row for row in rows.values() if row["role"] == "admin" and row["is_active"]]
    assert len(active_admins) == 1
