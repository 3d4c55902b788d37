"""Access policies: every endpoint declares one, and an app with an undeclared endpoint does not start."""

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint

from app.auth.policy import (
    MANAGERS,
    STAFF,
    AccessPolicy,
    allow,
    any_token,
    check_access_policies,
    policy_of,
    public,
    refresh_token_required,
    undeclared_endpoints,
)


def test_every_endpoint_of_the_real_app_declares_a_policy(app):
    assert undeclared_endpoints(app) == []
    check_access_policies(app)


@pytest.mark.parametrize(
    "endpoint, method, expected",
    [
        ("auth.Login", "POST", AccessPolicy("public")),
        ("auth.Refresh", "POST", AccessPolicy("refresh")),
        ("auth.Logout", "POST", AccessPolicy("any_token")),
        ("auth.Me", "GET", AccessPolicy("roles", STAFF)),
        ("users.Users", "GET", AccessPolicy("roles", ("admin",))),
        ("users.UserById", "DELETE", AccessPolicy("roles", ("admin",))),
        ("health.Health", "GET", AccessPolicy("public")),
        ("docs_assets.swagger_asset", "*", AccessPolicy("public")),
    ],
)
def test_the_real_app_declares_the_intended_policies(app, endpoint, method, expected):
    assert policy_of(app.view_functions[endpoint])[method] == expected


def _app_with(blueprint):
    """A small flask-smorest app of its own, so the real app's extensions stay untouched."""
    throwaway = Flask("throwaway")
    throwaway.config.update(API_TITLE="throwaway", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(throwaway)
    api.register_blueprint(blueprint)
    throwaway.extensions["test_api"] = api
    return throwaway


def _shelf_blueprint(get_policy=None, post_policy=None):
    """A new blueprint with one MethodView; each method wears the given policy, or none."""

    def get(self):
        """List shelves"""
        return []

    def post(self):
        """Add a shelf"""
        return {}

    methods = {"get": get_policy(get) if get_policy else get, "post": post_policy(post) if post_policy else post}
    blp = Blueprint("shelves", __name__, url_prefix="/api/shelves")
    blp.route("")(type("Shelves", (MethodView,), methods))
    return blp


def test_a_view_without_a_policy_stops_start_up_and_is_named():
    throwaway = _app_with(_shelf_blueprint(get_policy=public, post_policy=None))

    with pytest.raises(RuntimeError) as refused:
        check_access_policies(throwaway)

    assert "shelves.Shelves POST" in str(refused.value)
    assert "shelves.Shelves GET" not in str(refused.value)
    assert undeclared_endpoints(throwaway) == ["shelves.Shelves POST"]


def test_every_undeclared_method_is_named():
    throwaway = _app_with(_shelf_blueprint())
    assert sorted(undeclared_endpoints(throwaway)) == ["shelves.Shelves GET", "shelves.Shelves POST"]


def test_a_plain_flask_route_without_a_policy_is_named_too():
    throwaway = _app_with(_shelf_blueprint(get_policy=public, post_policy=allow(*MANAGERS)))

    @throwaway.route("/api/forgotten")
    def forgotten():
        return "oops"

    with pytest.raises(RuntimeError, match="forgotten"):
        check_access_policies(throwaway)


def test_an_app_whose_views_all_declare_a_policy_starts():
    throwaway = _app_with(_shelf_blueprint(get_policy=public, post_policy=allow("admin")))
    check_access_policies(throwaway)
    assert undeclared_endpoints(throwaway) == []


@pytest.mark.parametrize("roles", [("owner",), ("admin", "manager"), (), ("ADMIN",)])
def test_allow_refuses_unknown_roles(roles):
    with pytest.raises(ValueError):
        allow(*roles)


@pytest.mark.parametrize(
    "decorate, security, access",
    [
        (public, [], "Public: no token needed."),
        (allow("admin", "supervisor"), [{"bearerAuth": []}], "Roles: admin, supervisor."),
        (refresh_token_required, [{"bearerAuth": []}], "Requires a refresh token."),
        (any_token, [{"bearerAuth": []}], "Requires an access or a refresh token."),
    ],
    ids=["public", "roles", "refresh", "any token"],
)
def test_a_policy_documents_itself_in_the_openapi_document(decorate, security, access):
    throwaway = _app_with(_shelf_blueprint(get_policy=decorate, post_policy=public))

    document = throwaway.extensions["test_api"].spec.to_dict()
    operation = document["paths"]["/api/shelves"]["get"]
    assert operation["security"] == security
    assert operation["x-access"] == access
    assert access in operation["description"]
