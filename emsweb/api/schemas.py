"""Shapes shared by every /v1 endpoint, for the OpenAPI document."""

from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, WithJsonSchema, model_validator

# On the wire every amount and price is a JSON number (never a string), written with the
# Decimal's own digits.
WireNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]
# A string that is left out of the body when it has no value, never sent as null: the contract
# types it as a string, and CoinAPI's generated clients refuse a null there.
StringOrAbsent = Annotated[str | None, WithJsonSchema({"type": "string"})]


class LenientSchema(BaseModel):
    """Request bodies: unknown fields ignored, and keys with stray spaces accepted (the
    contract's own cancel-all example sends "exchange_id ")."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def strip_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                key.strip() if isinstance(key, str) else key: value for key, value in data.items()
            }
        return data


class ValidationErrorBody(Schema):
    type: str
    title: str
    status: int
    traceId: str
    errors: dict[str, list[str]]


class MessageRejectBody(Schema):
    type: str
    reject_reason: StringOrAbsent = None
    exchange_id: StringOrAbsent = None
    message: str
    rejected_message: StringOrAbsent = None


class ErrorBody(Schema):
    error: str
