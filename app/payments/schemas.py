"""What the payments API shows."""

from marshmallow import Schema, fields

from app.payments.models import AttemptStatus, WebhookState


class PaymentAttemptOut(Schema):
    payment_id = fields.Int(attribute="id")
    attempt_no = fields.Int()
    status = fields.Str(metadata={"enum": list(AttemptStatus)})
    amount_idr = fields.Int()
    snap_token = fields.Str(allow_none=True)
    redirect_url = fields.Str(allow_none=True)
    expires_at = fields.DateTime(attribute="token_expires_at", allow_none=True)
    failure_reason = fields.Str(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)


class StaffPaymentAttemptOut(PaymentAttemptOut):
    midtrans_order_id = fields.Str()
    transaction_status = fields.Str(allow_none=True)
    fraud_status = fields.Str(allow_none=True)
    payment_type = fields.Str(allow_none=True)
    refunded_idr = fields.Int()
    last_checked_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class WebhookLogOut(Schema):
    id = fields.Int()
    received_at = fields.DateTime()
    midtrans_order_id = fields.Str(allow_none=True)
    transaction_status = fields.Str(allow_none=True)
    signature_valid = fields.Bool(allow_none=True)
    processing_status = fields.Str(metadata={"enum": list(WebhookState)})
    outcome = fields.Str(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)


class PaymentEventOut(Schema):
    kind = fields.Str()
    amount_idr = fields.Int(allow_none=True)
    detail = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class WebhookAck(Schema):
    status = fields.Str()
