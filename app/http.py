"""Request helpers shared by blueprints, and the Blueprint class they are built on."""

from functools import wraps

import flask_smorest
from flask import request

from app.jsonbody import JsonBodyParser


def max_body(size_bytes):
    """Let one endpoint accept a larger body than MAX_CONTENT_LENGTH (a CSV upload, a long count).

    Place it under the access policy and above `@blp.arguments`, so the
    limit is set before the body is read.
    """

    def decorator(view):
        @wraps(view)
        def limited(*args, **kwargs):
            request.max_content_length = size_bytes
            return view(*args, **kwargs)

        return limited

    return decorator


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, reading JSON bodies through the bounded parser (`app.jsonbody`)."""

    ARGUMENTS_PARSER = JsonBodyParser()
