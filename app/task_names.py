"""The name of every Celery task, spelled once.

`app/` hands work to Celery by these names (`app.tasking`), `tasks/` registers
its functions under them (`@shared_task(name=task_names....)`), and the beat
schedule refers to them, so a misspelt name fails where it is written instead
of queueing work no worker runs. tests/tasks/test_worker.py checks that a real
worker registers every name here. Plain strings, not an enum: Celery keeps
them, and beat pickles them into its schedule file.
"""

PING = "system.ping"
NOOP = "system.noop"
IMPORT_PRODUCTS = "catalog.import_products"
APPLY_STOCK_TAKE = "inventory.apply_stock_take"
CREATE_SNAP_TOKEN = "payments.create_snap_token"
PROCESS_NOTIFICATION = "payments.process_notification"
RECONCILE_ATTEMPT = "payments.reconcile_attempt"
EXPIRE_ORDER = "payments.expire_order"
RECONCILE_PAYMENTS = "payments.reconcile"
RUN_EXPORT = "reports.run_export"
BUILD_RECENT_DAYS = "reports.build_recent_days"
CLEAN_UP_EXPORTS = "reports.clean_up_exports"
PURGE_IDEMPOTENCY_KEYS = "maintenance.purge_idempotency_keys"
DROP_OLD_SALE_SEQUENCES = "maintenance.drop_old_sale_sequences"
PURGE_REFUSED_NOTIFICATIONS = "maintenance.purge_refused_notifications"
PURGE_REVOKED_TOKENS = "maintenance.purge_revoked_tokens"

# Tasks registered with ignore_result=True. A sender must say so too: a task
# sent by name carries the sender's ignore_result, which the worker obeys, and
# sending one that keeps a result first subscribes to the result backend (see
# tasks/payments.py for what that cost the webhook).
RESULT_IGNORED = frozenset({NOOP, CREATE_SNAP_TOKEN, PROCESS_NOTIFICATION})


def all_names():
    """Every task name above."""
    return {value for key, value in globals().items() if key.isupper() and isinstance(value, str)}
