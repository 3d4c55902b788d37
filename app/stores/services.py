"""The store a request works on."""

from collections.abc import Mapping
from typing import Any

from flask import current_app

from app.extensions import db
from app.stores.models import Store, default_store

_CACHE_KEY = "pos_default_store_id"


def current_store_id() -> int:
    """The default store's id (the API works on it until multi-outlet endpoints exist).

    Cached per app: the default store is created by the first migration and
    its id never changes.
    """
    store_id = current_app.extensions.get(_CACHE_KEY)
    if store_id is None:
        store_id = current_app.extensions[_CACHE_KEY] = default_store().id
    return store_id


def store_settings(store_id: int) -> Store | None:
    return db.session.get(Store, store_id)


def update_store_settings(store_id: int, changes: Mapping[str, Any]) -> Store:
    store = db.session.get_one(Store, store_id)
    for field, value in changes.items():
        setattr(store, field, value)
    db.session.commit()
    return store
