"""JSON request bodies, parsed once and bounded in depth.

Python's parser recurses once per nesting level: a body of 50,000 `[`
raises RecursionError, which no handler expects, so it surfaced as a 500
(and left a stored webhook row half-handled). No request of this API nests
deeper than a few levels, so anything deeper than `MAX_DEPTH` is refused as
a bad request before a schema or a service sees it.

Every reader goes through `loads`: Flask's `request.get_json` (through the
app's JSON provider), flask-smorest's argument parser (`JsonBodyParser`,
installed on `app.http.Blueprint`, which reads through `get_json`) and the
Midtrans webhook, which parses the raw body it stores.
"""

import json

from flask import Request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

# Our deepest body (a checkout line's modifier ids) is four levels; Midtrans's
# notifications are three. Generous, and far below the interpreter's limit.
MAX_DEPTH = 32


class NestedTooDeep(ValueError):
    """A JSON document nested deeper than MAX_DEPTH (a ValueError, as the json module's own errors are)."""

    def __init__(self):
        super().__init__(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")


def loads(data):
    """`json.loads`, refusing documents nested deeper than MAX_DEPTH with NestedTooDeep."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise NestedTooDeep() from None
    if _nested_deeper_than(value, MAX_DEPTH):
        raise NestedTooDeep()
    return value


def _nested_deeper_than(value, limit):
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def describe(error):
    """What was wrong with a body that did not parse, in words a client developer can act on."""
    if isinstance(error, NestedTooDeep):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    if isinstance(error, json.JSONDecodeError):
        return f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
    return "The body is not valid JSON."


class BoundedJSONProvider(DefaultJSONProvider):
    """The app's JSON provider (`app.json`), which `request.get_json` parses with: bounded in depth."""

    def loads(self, s, **kwargs):
        return loads(s)


class PosRequest(Request):
    """The request class: a body that is not JSON is refused saying why (Flask's says only "Bad Request")."""

    def on_json_loading_failed(self, e):
        if e is None:
            return super().on_json_loading_failed(e)  # not a JSON content type: 415
        raise BadRequest(describe(e))


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser reading the body through the request's bounded, cached `get_json`."""

    def load_json(self, req, schema):
        if not is_json_request(req):
            return core.missing
        try:
            return req.get_json(force=True)
        except BadRequest as error:
            # What webargs' abort does, without an abort outside the routes: the HTTP error
            # carries its field errors in `data`, which flask-smorest's handler renders.
            error.data = {"messages": {"json": [error.description]}}  # type: ignore[attr-defined]  # read by flask-smorest, undeclared by werkzeug
            raise
