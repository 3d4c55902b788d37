"""The only module that talks to Midtrans.

It wraps `midtransclient` with what the library lacks: timeouts on every
call, base URLs from configuration (the real Midtrans or the in-repo
simulator), one error type (`GatewayError`, transient or permanent), and a
status reading that treats "no payment method chosen yet" as pending rather
than as an error. Signatures of notifications are verified here too, in
constant time. Nothing here logs the server key or full tokens.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass, field

import midtransclient
import requests
from flask import current_app
from midtransclient.error_midtrans import JSONDecodeError, MidtransAPIError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10


class GatewayError(Exception):
    """Midtrans said no (permanent) or could not be reached or failed (transient: try again later)."""

    def __init__(self, message, *, transient, http_status=None, body=None):
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.http_status = http_status
        self.body = body or {}


@dataclass(frozen=True)
class SnapToken:
    token: str
    redirect_url: str


@dataclass(frozen=True)
class TransactionState:
    """What Midtrans's status API says of one order_id."""

    found: bool
    transaction_status: str | None = None
    fraud_status: str | None = None
    gross_amount: str | None = None
    payment_type: str | None = None
    transaction_id: str | None = None
    status_code: str | None = None
    raw: dict = field(default_factory=dict)

    @property
    def amount_idr(self):
        """The gross amount as whole rupiah, or None if it is not a whole number."""
        if self.gross_amount is None:
            return None
        whole, _, fraction = str(self.gross_amount).partition(".")
        return int(whole) if whole.isdigit() and fraction.strip("0") == "" else None


class _TimeoutSession(requests.Session):
    """requests with a timeout on every call: a hung Midtrans must not hang a worker."""

    def request(self, method, url, **kwargs):  # type: ignore[override]  # passes everything on by keyword
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
        return super().request(method, url, **kwargs)


def _translate(action, error):
    """midtransclient's and requests' failures as one GatewayError."""
    if isinstance(error, MidtransAPIError):
        body = error.api_response_dict or {}
        status = error.http_status_code
        return GatewayError(
            f"Midtrans {action} failed ({status}): {_error_messages(body) or 'no detail'}",
            transient=status is None or status >= 500 or status == 429,
            http_status=status,
            body=body,
        )
    if isinstance(error, JSONDecodeError):
        return GatewayError(f"Midtrans {action} answered something other than JSON", transient=True)
    return GatewayError(f"Midtrans {action} unreachable: {type(error).__name__}", transient=True)


def _error_messages(body):
    messages = body.get("error_messages") or [body.get("status_message") or ""]
    return "; ".join(str(message) for message in messages if message)


class MidtransGateway:
    def __init__(self, *, server_key, client_key, is_production, snap_base_url, api_base_url, notification_url=None):
        self._server_key = server_key
        self._client_key = client_key
        self._is_production = is_production
        self._snap_base_url = snap_base_url.rstrip("/")
        self._api_base_url = api_base_url.rstrip("/")
        self._notification_url = notification_url
        self._session = _TimeoutSession()

    def __repr__(self):
        return f"MidtransGateway(snap={self._snap_base_url!r}, api={self._api_base_url!r})"

    def _client(self, headers=None):
        # A fresh client each call: midtransclient shares a default headers dict between instances.
        snap = midtransclient.Snap(
            is_production=self._is_production,
            server_key=self._server_key,
            client_key=self._client_key,
            custom_headers=dict(headers or {}),
            proxies={},
        )
        config = snap.api_config
        config.SNAP_SANDBOX_BASE_URL = config.SNAP_PRODUCTION_BASE_URL = self._snap_base_url
        config.CORE_SANDBOX_BASE_URL = config.CORE_PRODUCTION_BASE_URL = self._api_base_url
        snap.http_client.http_client = self._session
        return snap

    def _call(self, action, function, *args):
        try:
            return function(*args)
        except (MidtransAPIError, JSONDecodeError, requests.RequestException) as error:
            raise _translate(action, error) from None

    def create_snap(self, params):
        headers = {"X-Override-Notification": self._notification_url} if self._notification_url else {}
        snap = self._client(headers)
        response = self._call("Snap create", snap.create_transaction, params)
        log.info("midtrans_snap_created order_id=%s", params["transaction_details"]["order_id"])
        return SnapToken(token=response["token"], redirect_url=response["redirect_url"])

    def status(self, midtrans_order_id):
        try:
            body = self._client().transactions.status(midtrans_order_id)
        except MidtransAPIError as error:
            body = error.api_response_dict or {}
            # No payment method chosen yet (or an id Midtrans never saw): status_code "404",
            # often with HTTP 200. That is "still pending", not a failure.
            if str(body.get("status_code")) == "404":
                return TransactionState(found=False, status_code="404", raw=body)
            raise _translate("status", error) from None
        except (JSONDecodeError, requests.RequestException) as error:
            raise _translate("status", error) from None
        return self._state(body)

    @staticmethod
    def _state(body):
        return TransactionState(
            found=True,
            transaction_status=body.get("transaction_status"),
            fraud_status=body.get("fraud_status"),
            gross_amount=body.get("gross_amount"),
            payment_type=body.get("payment_type"),
            transaction_id=body.get("transaction_id"),
            status_code=str(body.get("status_code")),
            raw=body,
        )

    def expire(self, midtrans_order_id):
        return self._state(self._call("expire", self._client().transactions.expire, midtrans_order_id))

    def cancel(self, midtrans_order_id):
        return self._state(self._call("cancel", self._client().transactions.cancel, midtrans_order_id))

    def refund(self, midtrans_order_id, amount_idr, reason, refund_key):
        params = {"refund_key": refund_key, "amount": amount_idr, "reason": reason[:255]}
        return self._call("refund", self._client().transactions.refund, midtrans_order_id, params)


def gateway():
    """The app's gateway, built once from its configuration."""
    instance = current_app.extensions.get("midtrans_gateway")
    if instance is None:
        config = current_app.config
        instance = current_app.extensions["midtrans_gateway"] = MidtransGateway(
            server_key=config["MIDTRANS_SERVER_KEY"],
            client_key=config["MIDTRANS_CLIENT_KEY"],
            is_production=config["MIDTRANS_IS_PRODUCTION"],
            snap_base_url=config["MIDTRANS_SNAP_BASE_URL"],
            api_base_url=config["MIDTRANS_API_BASE_URL"],
            notification_url=config["MIDTRANS_NOTIFICATION_URL"],
        )
    return instance


def signature_for(order_id, status_code, gross_amount, server_key):
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signature_is_valid(notification, server_key):
    """Midtrans's signature over the raw strings as received, compared in constant time."""
    expected = signature_for(
        notification.get("order_id", ""), notification.get("status_code", ""),
        notification.get("gross_amount", ""), server_key,
    )
    given = notification.get("signature_key")
    return isinstance(given, str) and hmac.compare_digest(expected, given.lower())
