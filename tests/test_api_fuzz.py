"""Schemathesis against the REST API of a real server: generated requests, the schema's promises.

Bounded and repeatable: a few examples per operation, derandomized (a fixed seed), so a failure
found once is found every run.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from harness.live_server import new_user


@pytest.fixture(scope="module")
def api_user(integration_db, server):
    """A user with a token and a plot, so that some generated requests reach real objects."""
    user = new_user(integration_db.env, server.url)
    token = user.make_token("fuzzed")
    user.make_plot([token])
    return user


FUZZ_SETTINGS = settings(
    max_examples=15,
    derandomize=True,  # the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.long
def test_every_operation_keeps_the_schemas_promises(server, api_user):
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/?format=json")
    credentials = base64.b64encode(f"{api_user.username}:{api_user.key}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def keeps_its_promises(case):
            # Random data is rarely valid in context (a token that exists, a trace index that is
            # free): a 400 for a schema-valid body is expected, and not a failure.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            keeps_its_promises()
        except Exception as failure:
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())
