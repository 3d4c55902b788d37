"""The objects one simulator app runs on, reachable from any request."""

from dataclasses import dataclass, field

from flask import current_app

from simulator.bodies import status_body
from simulator.config import load_config
from simulator.notifications import Notifier
from simulator.store import Store
from simulator.transactions import Ledger


@dataclass
class Simulator:
    config: dict = field(repr=False)  # holds the server key
    store: Store
    notifier: Notifier
    ledger: Ledger

    @classmethod
    def build(cls, overrides: dict | None = None) -> "Simulator":
        config = load_config(overrides)
        store = Store(config["DB"])
        notifier = Notifier(store, config)
        ledger = Ledger(store, config, notifier)
        # The dispatcher also expires pending payments whose time is up, so an
        # expiry is notified even when nobody asks for the status.
        notifier.on_tick = ledger.expire_due
        return cls(config, store, notifier, ledger)

    def status_body(self, row) -> dict:
        """The transaction as the status API shows it, with its refunds."""
        return status_body(row, self.ledger.refunds(row["order_id"]), self.config)

    def close(self) -> None:
        self.notifier.close()
        self.store.close()


def current() -> Simulator:
    return current_app.extensions["simulator"]
