"""Paging SQLAlchemy 2.0 `select()` statements with flask-smorest's `@blp.paginate`."""

from flask_smorest import Page
from sqlalchemy import func, select

from app.extensions import db


# The largest OFFSET the database takes (BIGINT); a page starting beyond it is empty.
MAX_OFFSET = 2**63 - 1


class SelectPage(Page):
    """The view returns a `select()`; this counts it and fetches one page of it."""

    @property
    def items(self):
        if self.page_params.first_item > MAX_OFFSET:
            return []
        statement = self.collection.limit(self.page_params.page_size).offset(self.page_params.first_item)
        return db.session.scalars(statement).all()

    @property
    def item_count(self):
        counted = select(func.count()).select_from(self.collection.order_by(None).subquery())
        return db.session.scalar(counted)


class RowPage(SelectPage):
    """Pages a `select()` of plain columns (SelectPage keeps only the first column of each row)."""

    @property
    def items(self):
        if self.page_params.first_item > MAX_OFFSET:
            return []
        statement = self.collection.limit(self.page_params.page_size).offset(self.page_params.first_item)
        return db.session.execute(statement).mappings().all()
