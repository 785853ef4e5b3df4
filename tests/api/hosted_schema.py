"""The hosted EMS's OpenAPI document (hosted_ems/), as the JSON Schema its generated clients hold
an answer to: a field typed string is a string, never null.

Corrected, as EMS-API.md section 9 says to: `type: date` (not an OpenAPI type) is an ISO string;
`time_order` is required but never defined; and the fields the hosted EMS's real answers show as
null (exchange_order_id, error_message and expire_time in execution reports, rate_usd in
balances) may be null.
"""

from datetime import date
from functools import cache
from pathlib import Path

import jsonschema_rs
import yaml

DOCUMENT = Path(__file__).parent / "hosted_ems" / "ems-rest-api.openapi.yaml"
NULL_ON_THE_REAL_WIRE = {
    "OrderNewSingleRequest": {"expire_time"},
    "OrderExecutionReport_allOf": {"exchange_order_id", "error_message"},
    "Balance_data_inner": {"rate_usd"},
}


def _corrected(node):
    if isinstance(node, date):  # YAML reads the examples' times as datetimes
        return node.isoformat()
    if isinstance(node, list):
        return [_corrected(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _corrected(value) for key, value in node.items()}
    if node.get("type") == "date":
        node["type"] = "string"
    if "required" in node:
        node["required"] = [name for name in node["required"] if name != "time_order"]
    return node


@cache
def _components() -> dict:
    schemas = _corrected(yaml.safe_load(DOCUMENT.read_text())["components"]["schemas"])
    for name, fields in NULL_ON_THE_REAL_WIRE.items():
        for field in fields:
            prop = schemas[name]["properties"][field]
            prop["type"] = [prop["type"], "null"]
    return {"schemas": schemas}


def problems(body, schema: str) -> list[str]:
    """What a client generated from the document refuses in `body`, read as `schema` (a name
    under components/schemas)."""
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": _components()}
    )
    return [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(body)]
