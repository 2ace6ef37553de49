"""``servicenow.search`` takes text from any app: it passes the access decision first, and whatever text gets
through validation can only ever be the value of the configured LIKE terms of the encoded query."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapter.bridge.access import AccessPolicy
from adapter.bridge.messages import SearchPayload
from adapter.bridge.search import RecordSearch, search_endpoint
from adapter.emulators.servicenow.query import Condition, Operator, parse_query
from adapter.openfin import ActionError, ClientIdentity
from adapter.search_types import DEFAULT_SEARCH_TYPES
from adapter.servicenow.authorizers import HttpAuthorizer
from adapter.servicenow.manager import ConnectionManager


def _identity(uuid: str) -> ClientIdentity:
    return ClientIdentity.model_validate({"uuid": uuid, "name": uuid, "endpointId": f"e-{uuid}"})


async def test_search_refuses_an_app_outside_the_allow_list_before_anything_else() -> None:
    manager = ConnectionManager(HttpAuthorizer())
    search = RecordSearch(manager, AccessPolicy(["allowed-crm"]), DEFAULT_SEARCH_TYPES)
    with pytest.raises(ActionError) as refused:
        await search.search(SearchPayload(query="wire"), _identity("intruder"))
    assert refused.value.name == "AccessDeniedError"
    # Positive control: an allowed app passes the decision and meets the next check (no login yet).
    with pytest.raises(ActionError) as allowed:
        await search.search(SearchPayload(query="wire"), _identity("allowed-crm"))
    assert allowed.value.name == "NotConnectedError"
    assert manager.status() == []
    await manager.aclose()


def _conditions(query: str) -> list[Condition]:
    parsed = parse_query(query)
    assert parsed.invalid_terms == ()
    return [
        term
        for group in parsed.groups
        for clause in group.clauses
        for term in clause.terms
        if isinstance(term, Condition)
    ]


@given(st.text(min_size=1, max_size=120))
def test_accepted_text_is_only_ever_a_like_value_of_the_search_fields(text: str) -> None:
    try:
        payload = SearchPayload(query=text)
    except ValidationError:
        return
    for search_type in DEFAULT_SEARCH_TYPES:
        endpoint = search_endpoint(search_type, payload.query, 30)
        query = parse_qs(urlsplit(endpoint).query, keep_blank_values=True)["sysparm_query"]
        assert len(query) == 1
        parsed = parse_query(query[0])
        assert len(parsed.groups) == 1
        assert [(o.field, o.descending) for o in parsed.orderings] == [(search_type.order_by, True)]
        conditions = _conditions(query[0])
        fixed = [c for c in conditions if c.operator is not Operator.LIKE]
        likes = [c for c in conditions if c.operator is Operator.LIKE]
        assert [(c.field, c.value) for c in likes] == [(f, payload.query) for f in search_type.search_fields]
        assert len(fixed) == (1 if search_type.condition else 0)


@pytest.mark.parametrize(
    "text",
    [
        "a^b",
        "a^ORb",
        "a^NQactive=true",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\x00b",
        "a\u2028b",
        "a\u2029b",
        "javascript:gs.getUserID()",
        "JAVASCRIPT:x",
        "java script:x",
        "x" * 101,
        "",
        "  \u3000 ",
    ],
)
def test_text_that_could_reach_beyond_a_like_value_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        SearchPayload(query=text)


def test_ordinary_text_is_accepted_trimmed() -> None:
    assert SearchPayload(query="  O'Brien & Co. 50%  ").query == "O'Brien & Co. 50%"
    assert SearchPayload(query="CS0001067").query == "CS0001067"
