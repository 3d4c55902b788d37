"""HTTP Basic auth with the server key as user name, as Midtrans expects."""

import hmac

from flask import request


def has_server_key(server_key: str) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.username is None:
        return False
    return hmac.compare_digest(auth.username.encode("utf-8"), server_key.encode("utf-8"))
