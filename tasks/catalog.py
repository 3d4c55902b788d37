"""Catalog tasks."""

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app import task_names
from app.catalog import imports

log = logging.getLogger(__name__)


@shared_task(name=task_names.IMPORT_PRODUCTS, max_retries=10, autoretry_for=(OperationalError,), retry_backoff=True)
def import_products(import_id: int) -> None:
    try:
        imports.run_import(import_id)
    except OperationalError:
        raise
    except Exception as error:
        log.exception("product_import_failed import_id=%s", import_id)
        imports.mark_failed(import_id, f"{type(error).__name__}: {error}")
