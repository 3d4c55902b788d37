"""Report tasks: nightly summaries, exports, clean-up."""

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app import task_names
from app.reports import exports, summaries
from app.stores.services import current_store_id

log = logging.getLogger(__name__)


@shared_task(name=task_names.BUILD_RECENT_DAYS, autoretry_for=(OperationalError,), max_retries=3, retry_backoff=True)
def build_recent_days() -> list[str]:
    """Nightly: yesterday's summary, and any of the last week's days still missing."""
    return summaries.build_recent(current_store_id())


@shared_task(name=task_names.RUN_EXPORT, autoretry_for=(OperationalError,), max_retries=3, retry_backoff=True,
             soft_time_limit=1800, time_limit=1900)
def run_export(export_id: int) -> int | None:
    try:
        return exports.run_export(export_id)
    except OperationalError:
        raise
    except Exception as error:
        log.exception("report_export_failed export_id=%s", export_id)
        exports.mark_failed(export_id, f"{type(error).__name__}: {error}")
        return None


@shared_task(name=task_names.CLEAN_UP_EXPORTS)
def clean_up_exports() -> int:
    return exports.clean_up_old_files()
