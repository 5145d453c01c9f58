"""Schemathesis hooks for the CI fuzz run.

A client sends a new Idempotency-Key with every new request; schemathesis
reuses generated header values across requests, which the server rightly
answers with 422 (same key, another request). Well-formed keys are made
unique per request; malformed ones are left as generated, so the server's
refusal of them is still tested.

A sorted page is placed by its cursor record's value in the sort field, so
under `sort` a cursor must name a record of the list (a generated id names
none, and is rightly a 422 on `cursor`): the cursor is dropped from sorted
list requests, and unsorted ones keep testing any cursor.
"""
import re
import uuid

import schemathesis

KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and KEY.match(key):
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
    query = case.query or {}
    if "sort" in query and "cursor" in query:
        del query["cursor"]
