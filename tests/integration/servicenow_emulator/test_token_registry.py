"""The token registry and the rate limiter on their own (no sockets): rules HTTP tests cannot reach easily."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.faults import FaultPlan, FaultRule
from adapter.emulators.servicenow.ratelimit import RateLimiter
from adapter.emulators.servicenow.tokens import (
    DEMO_CLIENT,
    GrantError,
    OAuthClient,
    TokenRegistry,
    s256_challenge,
)

INSTANCE = "http://127.0.0.1:8180"
REDIRECT = f"{INSTANCE}/oauth_redirect.do"
CONFIDENTIAL = OAuthClient(
    client_id="confidential", name="Confidential", redirect_urls=("{instance}/cb",), client_secret="s3cret"
)


def registry() -> TokenRegistry:
    tokens = TokenRegistry(Clock())
    tokens.register(DEMO_CLIENT)
    tokens.register(CONFIDENTIAL)
    return tokens


def test_a_code_cannot_be_redeemed_by_another_client() -> None:
    tokens = registry()
    code = tokens.issue_code(
        DEMO_CLIENT, redirect_uri=REDIRECT, user_sys_id="u1", scope="", code_challenge=None
    )

    with pytest.raises(GrantError, match="another client"):
        tokens.redeem_code(
            client=CONFIDENTIAL, code=code, redirect_uri=REDIRECT, code_verifier=None, client_secret="s3cret"
        )


def test_a_confidential_client_must_present_its_secret() -> None:
    tokens = registry()
    redirect = f"{INSTANCE}/cb"
    code = tokens.issue_code(
        CONFIDENTIAL, redirect_uri=redirect, user_sys_id="u1", scope="", code_challenge=None
    )

    with pytest.raises(GrantError, match="secret"):
        tokens.redeem_code(
            client=CONFIDENTIAL, code=code, redirect_uri=redirect, code_verifier=None, client_secret="wrong"
        )


def test_a_public_client_code_without_challenge_is_refused() -> None:
    tokens = registry()
    code = tokens.issue_code(
        DEMO_CLIENT, redirect_uri=REDIRECT, user_sys_id="u1", scope="", code_challenge=None
    )

    with pytest.raises(GrantError, match="PKCE"):
        tokens.redeem_code(
            client=DEMO_CLIENT, code=code, redirect_uri=REDIRECT, code_verifier="x", client_secret=None
        )


def test_refresh_tokens_of_another_client_are_refused() -> None:
    tokens = registry()
    pair = tokens.password(client=DEMO_CLIENT, user_sys_id="u1", scope="", client_secret=None)

    with pytest.raises(GrantError, match="another client"):
        tokens.refresh(client=CONFIDENTIAL, refresh_token=pair.refresh.value, client_secret="s3cret")


@pytest.mark.parametrize(
    "verifier", ["a" * 43, "0123456789abcdef" * 8, "dBjftJeZ4CVP-mJ92K9dCQwkGjt8hN0nYxgDXjvCrjE"]
)
def test_s256_challenge_agrees_with_authlib(verifier: str) -> None:
    assert s256_challenge(verifier) == create_s256_code_challenge(verifier)


def test_unregistered_redirects_resolve_to_the_first_registered_url() -> None:
    assert DEMO_CLIENT.resolve_redirect("https://elsewhere.example/cb", INSTANCE) == REDIRECT
    assert DEMO_CLIENT.resolve_redirect(REDIRECT, INSTANCE) == REDIRECT


def test_rate_limiter_refuses_past_the_limit_until_the_next_hour() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, limit_per_hour=2)

    verdicts = [limiter.check("admin") for _ in range(3)]
    assert [v.allowed for v in verdicts if v] == [True, True, False]
    refused = verdicts[2]
    assert refused is not None
    clock.advance(refused.retry_after)
    again = limiter.check("admin")
    assert again is not None
    assert again.allowed


def test_rate_limiter_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(Clock()).set_limit(0)


def test_fault_plan_applies_the_first_matching_rule_and_counts_times() -> None:
    plan = FaultPlan()
    plan.add([FaultRule(path="/api/now/", status=500, times=1), FaultRule(path="/api/", status=503)])

    first = plan.take("GET", "/api/now/table/task")
    second = plan.take("GET", "/api/now/table/task")

    assert first is not None
    assert first.status == 500
    assert second is not None
    assert second.status == 503
    assert plan.take("GET", "/__emulator/stats") is None
    assert plan.take("GET", "/oauth_auth.do") is None
