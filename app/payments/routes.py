"""Public payment endpoints and the Midtrans notification endpoint."""

from flask import current_app, request
from flask.views import MethodView

from app.auth.policy import public
from app.extensions import client_address, db, limiter
from app.http import Blueprint
from app.idempotency import idempotent
from app.payments import attempts, notifications
from app.payments.models import AttemptStatus, PaymentAttempt
from app.payments.schemas import PaymentAttemptOut, WebhookAck

payments = Blueprint("payments", __name__, url_prefix="/api/payments", description="Paying an online order with Midtrans Snap.")
webhooks = Blueprint("webhooks", __name__, url_prefix="/api/webhooks", description="Notifications from Midtrans.")
_payment_out = PaymentAttemptOut()


def public_rate_limit():
    return current_app.config["PUBLIC_RATE_LIMIT"]


def _replay_payment(attempt_id):
    return _payment_out.dump(db.session.get(PaymentAttempt, int(attempt_id)))


@payments.route("/<uuid:order_id>/create")
class PaymentCreate(MethodView):
    @public
    @limiter.limit(public_rate_limit, key_func=client_address)
    @idempotent("payments.create", replay=_replay_payment, scope_by_user=False)
    @payments.response(201, PaymentAttemptOut, description="The Snap token is ready (or the attempt failed: see status).")
    @payments.alt_response(202, schema=PaymentAttemptOut, description="Still asking Midtrans: poll GET /api/payments/{order_id}.")
    @payments.alt_response(409, description="The order is paid, expired or cancelled.")
    @payments.alt_response(429, description="Too many requests from this address.")
    def post(self, order_id, claim):
        """Start paying an order (or get the live Snap token again)

        Repeating the call while a token is live returns the same token
        without asking Midtrans again; after a failed or expired attempt a new
        attempt starts with a new Midtrans order_id.
        """
        attempt_id, _ = attempts.start_payment(order_id, claim)
        attempt = attempts.wait_for_token(attempt_id)
        return attempt, 202 if attempt.status == AttemptStatus.CREATING else 201


@payments.route("/<uuid:order_id>")
class PaymentStatus(MethodView):
    @public
    @limiter.limit(public_rate_limit, key_func=client_address)
    @payments.response(200, PaymentAttemptOut)
    def get(self, order_id):
        """The order's latest payment attempt and its status"""
        return attempts.attempt_for_order(order_id)


# Read raw (it is stored before it is parsed), so described here rather than by a schema it is loaded with.
NOTIFICATION_BODY = {
    "required": True,
    "description": "Midtrans's HTTP notification, as Midtrans sends it.",
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["order_id", "status_code", "gross_amount", "signature_key"],
        "properties": {name: {"type": "string"} for name in (
            "order_id", "status_code", "gross_amount", "signature_key", "transaction_status", "fraud_status")},
    }}},
}


@webhooks.route("/midtrans")
class MidtransNotification(MethodView):
    decorators = [limiter.exempt]

    @public
    @webhooks.doc(requestBody=NOTIFICATION_BODY)
    @webhooks.response(200, WebhookAck)
    @webhooks.alt_response(400, description="Not a Midtrans notification (stored, marked invalid).")
    @webhooks.alt_response(403, description="The signature does not match (stored, marked rejected).")
    def post(self):
        """Receive a Midtrans notification: stored raw, verified, answered at once, processed by a worker"""
        notifications.record_notification(request.get_data(as_text=True), request.headers, client_address())
        return {"status": "ok"}
