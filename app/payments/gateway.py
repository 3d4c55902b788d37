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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import midtransclient
import requests
from flask import current_app
from midtransclient.error_midtrans import JSONDecodeError, MidtransAPIError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10


class GatewayError(Exception):
    """Midtrans said no (permanent) or could not be reached or failed (transient: try again later)."""

    def __init__(self, message: str, *, transient: bool, http_status: int | None = None,
                 body: Mapping[str, Any] | None = None) -> None:
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
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def amount_idr(self) -> int | None:
        """The gross amount as whole rupiah, or None if it is not a whole number."""
        if self.gross_amount is None:
            return None
        whole, _, fraction = str(self.gross_amount).partition(".")
        return int(whole) if whole.isdigit() and fraction.strip("0") == "" else None


class _TimeoutSession(requests.Session):
    """requests with a timeout on every call: a hung Midtrans must not hang a worker."""

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # passes everything on by keyword
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
        return super().request(method, url, **kwargs)


def _translate(action: str, error: Exception) -> GatewayError:
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


def _error_messages(body: Mapping[str, Any]) -> str:
    messages = body.get("error_messages") or [body.get("status_message") or ""]
    return "; ".join(str(message) for message in messages if message)


class MidtransGateway:
    def __init__(self, *, server_key: str, client_key: str, is_production: bool, snap_base_url: str, api_base_url: str,
                 notification_url: str | None = None) -> None:
        self._server_key = server_key
        self._client_key = client_key
        self._is_production = is_production
        self._snap_base_url = snap_base_url.rstrip("/")
        self._api_base_url = api_base_url.rstrip("/")
        self._notification_url = notification_url
        self._session = _TimeoutSession()

    def __repr__(self) -> str:
        return f"MidtransGateway(snap={self._snap_base_url!r}, api={self._api_base_url!r})"

    def _client(self, headers: Mapping[str, str] | None = None) -> midtransclient.Snap:
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

    def _call(self, action: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except (MidtransAPIError, JSONDecodeError, requests.RequestException) as error:
            raise _translate(action, error) from None

    def create_snap(self, params: Mapping[str, Any]) -> SnapToken:
        headers = {"X-Override-Notification": self._notification_url} if self._notification_url else {}
        snap = self._client(headers)
        response = self._call("Snap create", snap.create_transaction, params)
        log.info("midtrans_snap_created order_id=%s", params["transaction_details"]["order_id"])
        return SnapToken(token=response["token"], redirect_url=response["redirect_url"])

    def status(self, midtrans_order_id: str) -> TransactionState:
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
    def _state(body: dict[str, Any]) -> TransactionState:
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

    def expire(self, midtrans_order_id: str) -> TransactionState:
        return self._state(self._call("expire", self._client().transactions.expire, midtrans_order_id))

    def cancel(self, midtrans_order_id: str) -> TransactionState:
        return self._state(self._call("cancel", self._client().transactions.cancel, midtrans_order_id))

    def refund(self, midtrans_order_id: str, amount_idr: int, reason: str, refund_key: str) -> Any:
        params = {"refund_key": refund_key, "amount": amount_idr, "reason": reason[:255]}
        return self._call("refund", self._client().transactions.refund, midtrans_order_id, params)


def gateway() -> MidtransGateway:
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


def signature_for(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signature_is_valid(notification: Mapping[str, Any], server_key: str) -> bool:
    """Midtrans's signature over the raw strings as received, compared in constant time."""
    expected = signature_for(
        notification.get("order_id", ""), notification.get("status_code", ""),
        notification.get("gross_amount", ""), server_key,
    )
    given = notification.get("signature_key")
    # compare_digest refuses non-ASCII text (TypeError); such a signature is simply wrong.
    return isinstance(given, str) and given.isascii() and hmac.compare_digest(expected, given.lower())
