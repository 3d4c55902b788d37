"""Stock tasks."""

import logging

from celery import Task, shared_task
from sqlalchemy.exc import OperationalError

from app import task_names
from app.inventory import stock_takes
from app.locks import redis_lock

log = logging.getLogger(__name__)


@shared_task(
    name=task_names.APPLY_STOCK_TAKE,
    bind=True,
    max_retries=10,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
)
def apply_stock_take(self: Task, stock_take_id: int) -> None:
    with redis_lock(f"stock_take:{stock_take_id}", timeout=600) as acquired:
        if not acquired:
            # Another worker holds it; come back in case that worker dies.
            raise self.retry(countdown=10)
        try:
            stock_takes.apply_stock_take(stock_take_id)
        except OperationalError:
            raise
        except Exception as error:
            log.exception("stock_take_failed stock_take_id=%s", stock_take_id)
            stock_takes.mark_failed(stock_take_id, f"{type(error).__name__}: {error}")
