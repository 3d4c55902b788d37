"""Liveness for operators and load balancers."""

from flask.views import MethodView
from marshmallow import Schema, fields

from app.auth.policy import public
from app.health.services import health
from app.http import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Is the stack up?")


class HealthOut(Schema):
    db = fields.Str(metadata={"description": "`ok` or the error"})
    redis = fields.Str(metadata={"description": "`ok` or the error"})
    worker = fields.Str(metadata={"description": "`ok` when a Celery worker answered a ping task"})


@blp.route("")
class Health(MethodView):
    @public
    @blp.response(200, HealthOut)
    @blp.alt_response(503, schema=HealthOut, description="The database or Redis is down.")
    def get(self):
        """Database, Redis and worker status"""
        report, healthy = health()
        return report, 200 if healthy else 503
