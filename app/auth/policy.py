"""Who may call an endpoint: declared on every view, checked at start-up.

Every view function carries exactly one policy, applied as its outermost
decorator so that authentication is checked before the body is parsed:

    @blp.route("/")
    class Products(MethodView):
        @allow(ADMIN, SUPERVISOR)
        @blp.arguments(ProductIn)
        @blp.response(201, ProductOut)
        def post(self, data): ...

`create_app` refuses to start when a view has no policy
(`check_access_policies`), so a new blueprint cannot forget one. Policies also
write the roles and the bearer requirement into the OpenAPI document.
"""

from dataclasses import dataclass
from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_smorest import Blueprint

from app.domain import Forbidden
from app.users.models import ADMIN, CASHIER, ROLES, SUPERVISOR

STAFF = (ADMIN, SUPERVISOR, CASHIER)
MANAGERS = (ADMIN, SUPERVISOR)

# flask-smorest's own endpoints (the spec and Swagger UI) and Flask's static files.
EXEMPT_BLUEPRINTS = {"api-docs"}
EXEMPT_ENDPOINTS = {"static"}


@dataclass(frozen=True)
class AccessPolicy:
    kind: str  # "public", "roles", "refresh", "any_token"
    roles: tuple = ()

    def describe(self):
        if self.kind == "public":
            return "Public: no token needed."
        if self.kind == "refresh":
            return "Requires a refresh token."
        if self.kind == "any_token":
            return "Requires an access or a refresh token."
        return "Roles: " + ", ".join(self.roles) + "."


def _declare(view, policy):
    """Mark `view` with its policy and write it into the OpenAPI operation (flask-smorest's `Blueprint.doc`)."""
    doc = {"x-access": policy.describe(), "security": []}
    if policy.kind != "public":
        doc["security"] = [{"bearerAuth": []}]
        doc["responses"] = {"401": "UNAUTHORIZED"}
        if policy.kind == "roles" and set(policy.roles) != set(ROLES):
            doc["responses"]["403"] = "FORBIDDEN"
    view = Blueprint.doc(**doc)(view)
    view.__access_policy__ = policy
    summary, _, rest = (view.__doc__ or "").partition("\n")
    view.__doc__ = f"{summary}\n\n{policy.describe()}\n{rest}"
    return view


def allow(*roles):
    """Staff whose role is one of `roles` (a valid access token is required)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"allow() needs known roles, got {roles!r}")
    policy = AccessPolicy("roles", tuple(roles))

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            verify_jwt_in_request()
            if current_user.role not in policy.roles:
                raise Forbidden(f"Your role ({current_user.role}) may not do this; it needs {', '.join(policy.roles)}.")
            return view(*args, **kwargs)

        return _declare(guarded, policy)

    return decorator


def public(view):
    """Anyone, signed in or not."""
    return _declare(view, AccessPolicy("public"))


def refresh_token_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        verify_jwt_in_request(refresh=True)
        return view(*args, **kwargs)

    return _declare(guarded, AccessPolicy("refresh"))


def any_token(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        verify_jwt_in_request(verify_type=False)
        return view(*args, **kwargs)

    return _declare(guarded, AccessPolicy("any_token"))


def policy_of(view_func):
    """The policies of one registered view: one per HTTP method for a MethodView."""
    view_class = getattr(view_func, "view_class", None)
    if view_class is None:
        return {"*": getattr(view_func, "__access_policy__", None)}
    return {
        method: getattr(getattr(view_class, method.lower(), None), "__access_policy__", None)
        for method in sorted(view_class.methods or ())
    }


def undeclared_endpoints(app):
    missing = []
    for endpoint, view_func in app.view_functions.items():
        if endpoint in EXEMPT_ENDPOINTS or endpoint.split(".", 1)[0] in EXEMPT_BLUEPRINTS:
            continue
        missing += [f"{endpoint} {method}" for method, policy in policy_of(view_func).items() if policy is None]
    return missing


def check_access_policies(app):
    missing = undeclared_endpoints(app)
    if missing:
        raise RuntimeError("Endpoints without an access policy (use allow/public): " + ", ".join(missing))

