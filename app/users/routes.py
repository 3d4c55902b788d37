"""Staff accounts, managed by admins."""

from flask.views import MethodView
from flask_jwt_extended import current_user

from app.auth.policy import allow
from app.http import Blueprint
from app.pagination import SelectPage
from app.users import services
from app.users.models import ADMIN
from app.users.schemas import PasswordReset, UserCreate, UserOut, UserQuery, UserUpdate

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Staff accounts (admins only).")


@blp.route("")
class Users(MethodView):
    @allow(ADMIN)
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, UserOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, filters):
        """List staff, searchable by username or name"""
        return services.users_query(**filters)

    @allow(ADMIN)
    @blp.arguments(UserCreate)
    @blp.response(201, UserOut)
    @blp.alt_response(409, description="The username is taken.")
    def post(self, body):
        """Create a staff account"""
        return services.create_user(**body)


@blp.route("/<id:user_id>")
class UserById(MethodView):
    @allow(ADMIN)
    @blp.response(200, UserOut)
    def get(self, user_id):
        """One staff account"""
        return services.get_user(user_id)

    @allow(ADMIN)
    @blp.arguments(UserUpdate)
    @blp.response(200, UserOut)
    @blp.alt_response(409, description="The change would leave no active admin, or is to your own role or active flag.")
    def patch(self, changes, user_id):
        """Change name, role or active flag (not your own role or flag); deactivating signs the user out everywhere"""
        return services.update_user(user_id, changes, actor_id=current_user.id)

    @allow(ADMIN)
    @blp.response(200, UserOut)
    @blp.alt_response(409, description="The user is the last active admin, or yourself.")
    def delete(self, user_id):
        """Deactivate another user (accounts are never deleted: sales and stock history point at them)"""
        return services.update_user(user_id, {"is_active": False}, actor_id=current_user.id)


@blp.route("/<id:user_id>/password")
class UserPassword(MethodView):
    @allow(ADMIN)
    @blp.arguments(PasswordReset)
    @blp.response(200, UserOut)
    @blp.alt_response(409, description="Your own account: change your password with POST /api/auth/password.")
    def post(self, body, user_id):
        """Reset another user's password; their existing tokens stop working"""
        return services.reset_password(user_id, body["new_password"], actor_id=current_user.id)
