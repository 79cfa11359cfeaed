"""The body of ``POST /api/v1/exchange/events``: docs/exchange.schema.json as a pydantic model.

tests/unit/test_exchange.py holds the two to the same answers (the real outbox's events
are valid in both, the same bad ones refused by both)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.settings import EXCHANGE_NAME_RE

Number = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,32}$")]
KINDS = ("order.created", "order.updated", "order.transition", "order.supervision", "order.survey", "order.deleted")


class ExchangeOrder(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: Number
    status: Annotated[str, Field(max_length=24)]


class ExchangeEventIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    source: Annotated[str, Field(pattern=EXCHANGE_NAME_RE.pattern)]
    event_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,40}$")]
    seq: Annotated[int, Field(ge=1, le=2**53, strict=True)]
    kind: Literal[KINDS]  # type: ignore[valid-type]
    at: Annotated[str, Field(min_length=10, max_length=40)]
    order: ExchangeOrder | None = None
    number: Number | None = None

    @model_validator(mode="after")
    def _order_or_number(self) -> ExchangeEventIn:
        if self.kind == "order.deleted" and self.number is None:
            raise ValueError("order.deleted needs the deleted draft's number")
        if self.kind != "order.deleted" and self.order is None:
            raise ValueError(f"{self.kind} needs the order")
        return self

    def event(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
