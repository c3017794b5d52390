"""API discovery samples parameters per endpoint; the other requests skip collecting them."""

from __future__ import annotations

from wallarm_sidecar.proxy._server import ParameterSampler


def test_first_request_of_an_endpoint_then_one_per_interval() -> None:
    sample = ParameterSampler(1.0)
    assert sample("POST", "/api/orders", 100.0)
    assert not sample("POST", "/api/orders", 100.5)
    assert sample("GET", "/api/orders", 100.5)  # another method is another endpoint
    assert sample("POST", "/api/users", 100.5)
    assert sample("POST", "/api/orders", 101.0)
    assert not sample("POST", "/api/orders", 101.9)


def test_zero_interval_samples_every_request() -> None:
    sample = ParameterSampler(0.0)
    assert all(sample("GET", "/", 5.0) for _ in range(3))


def test_bounded_memory_forgets_when_full() -> None:
    sample = ParameterSampler(60.0, limit=3)
    for n in range(3):
        assert sample("GET", f"/items/{n}", 0.0)
    assert not sample("GET", "/items/0", 1.0)
    assert sample("GET", "/items/new", 1.0)  # full: everything is forgotten
    assert len(sample._due) == 1
    assert sample("GET", "/items/0", 1.0)
