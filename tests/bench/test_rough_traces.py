"""The rough trace families (issue 21, item 6): count noise, heavy-tailed bursts, holidays and outages, and a family
fitted to a real public trace (NASA-HTTP, 1995)."""

import hashlib
import json

import numpy as np
import pytest

from autoscaler.domain import Capacity
from bench import traces
from bench.sim import LADDER, SimConfig, serves

ROUGH = list(traces.ROUGH_FAMILIES)
HELD_OUT = range(1000, 1005)  # the held-out seeds
ORIGINAL = [
    "diurnal",
    "weekly",
    "business",
    "sawtooth",
    "bursts",
    "steps",
    "ramps",
    "noise-fast",
    "noise-slow",
    "flash",
    "mem-growth",
    "mem-leak",
    "steady",
    "growth",
    "mixed",
]
# Digests of the families and named examples as drawn before the rough families were added (bench/traces.py as of
# c0ed116, its last change before them): adding families must not change a single draw of the others.
FAMILIES_DIGEST = "9f398dff6a557c570487b14d15fea19d37cfadc59b1689c4f797a7d709424e9d"
NAMED_DIGEST = "c9862244ddd3e24619b426bcbb2cbaf90a9b77c5cd2d5d7705fb68c20b510b07"


def _digest_families() -> str:
    digest = hashlib.sha256()
    for name in ORIGINAL:
        for seed in (0, 3, 1000):
            trace = traces.family(name, seed, 2.0)
            digest.update(name.encode())
            digest.update(np.round(trace.cpu, 9).tobytes())
            digest.update(np.round(trace.base_gb, 9).tobytes())
            digest.update(json.dumps(trace.params, sort_keys=True).encode())
            digest.update(repr(trace.steps).encode())
    return digest.hexdigest()


def _digest_named() -> str:
    digest = hashlib.sha256()
    for name in traces.GENERATORS:
        trace = traces.make(name, 3.0)
        digest.update(np.round(trace.cpu, 9).tobytes())
        digest.update(np.round(trace.base_gb, 9).tobytes())
    return digest.hexdigest()


def test_the_existing_families_are_unchanged():
    assert list(traces.FAMILIES)[: len(ORIGINAL)] == ORIGINAL  # the rough ones come after: same seeds for these
    assert _digest_families() == FAMILIES_DIGEST
    assert _digest_named() == NAMED_DIGEST


def test_the_rough_families_are_registered():
    for name in ROUGH:
        assert traces.FAMILIES[name] is traces.ROUGH_FAMILIES[name]
        assert traces.limits(name) == (0.0, traces.ROUGH_PEAK_OCPUS)
        trace = traces.family(name, 1000, 1)
        assert trace.family == name and trace.name == f"{name}#1000" and trace.minutes == 1440
        assert trace.description and trace.description == traces.FAMILIES[name].__doc__.strip().split("\n")[0]
    for name in ORIGINAL:
        assert traces.limits(name) == (0.05, traces.PEAK_OCPUS)


@pytest.mark.parametrize("name", ROUGH)
def test_a_rough_family_is_deterministic_per_seed_and_days(name):
    for seed in (1000, 1001):
        a, again = traces.family(name, seed, 5), traces.family(name, seed, 5)
        assert np.array_equal(a.cpu, again.cpu) and np.array_equal(a.base_gb, again.base_gb)
        assert a.params == again.params and a.steps == again.steps
    short = traces.family(name, 1000, 2)
    assert short.minutes == 2 * 1440 and short.params == traces.family(name, 1000, 2).params


@pytest.mark.parametrize("name", ROUGH)
def test_seeds_differ(name):
    draws = [traces.family(name, seed, 2) for seed in HELD_OUT]
    assert len({json.dumps(d.params, sort_keys=True) for d in draws}) == len(draws)
    for a, b in zip(draws, draws[1:], strict=False):
        assert not np.array_equal(a.cpu, b.cpu)


@pytest.mark.parametrize("name", ROUGH)
def test_values_are_finite_non_negative_and_servable(name):
    peaks = []
    for seed in HELD_OUT:
        trace = traces.family(name, seed, 5)
        assert trace.minutes == 5 * 1440 and len(trace.base_gb) == trace.minutes
        assert np.isfinite(trace.cpu).all() and (trace.cpu >= 0).all()
        assert trace.cpu.max() <= traces.ROUGH_PEAK_OCPUS
        assert np.isfinite(trace.base_gb).all() and (trace.base_gb > 0).all()
        assert all(0 <= s < trace.minutes for s in trace.steps)
        json.dumps(trace.params)  # plain numbers, lists and strings: the report can print them
        # the largest capacity the limits allow serves every minute within the SLO
        assert serves(trace, Capacity(4, LADDER[-1]), SimConfig(), slice(None)), trace.name
        assert 0.2 < trace.cpu.mean() < 3.0, trace.name  # in the range of the other families on average ...
        peaks.append(trace.cpu.max())
    assert max(peaks) > 4.0  # ... with peaks that sometimes need more than the bottom rung's four instances


def test_the_poisson_family_has_the_variance_count_noise_implies():
    for seed in (1000, 1001, 1002):
        trace = traces.family("poisson", seed, 5)
        p = trace.params
        assert 10 <= p["trough_rpm"] <= 40 and 80 <= p["peak_rpm"] <= 500
        mean, var = traces.count_noise_moments(p, trace.minutes)
        z = (trace.cpu - mean) / np.sqrt(var)
        # index of dispersion against a compound Poisson sum: observed variance / implied variance ~ 1
        assert abs(z.mean()) < 0.05, seed
        assert 0.9 < np.mean(z**2) < 1.1, seed
        assert abs(np.mean(z[1:] * z[:-1])) < 0.05, seed  # minutes independent given the rate
        # and the noise is visible: at the trough, one minute's demand varies by more than 10 %
        assert (np.sqrt(var) / mean).max() > 0.1
        # without the model: minute-to-minute changes are the count noise of two independent minutes
        assert 0.85 < np.diff(trace.cpu).var() / (2 * var.mean()) < 1.15, seed


def test_the_calendar_family_has_outages_and_holidays():
    returns = expected = 0.0
    for seed in range(1000, 1010):
        trace = traces.family("calendar", seed, 5)
        p = trace.params
        zero = np.zeros(trace.minutes, dtype=bool)
        for start, length, *_ in p["outages"]:
            zero[start : start + length] = True
        assert zero.any() and (trace.cpu[zero] == 0).all(), seed  # no load at all in the outages
        assert (trace.cpu[~zero] == 0).mean() < 0.01, seed  # elsewhere only a quiet night's minute may have none
        assert p["holidays"], seed
        day_mean = trace.cpu.reshape(-1, 1440).mean(1)
        weekdays = [d for d in range(5) if (d + p["start_day"]) % 7 < 5 and d not in p["holidays"]]
        for holiday in p["holidays"]:
            assert (holiday + p["start_day"]) % 7 < 5, seed  # a weekday ...
            assert day_mean[holiday] < 0.75 * np.median(day_mean[weekdays]), seed  # ... at the weekend level
        # after an outage the clients come back above the usual level (the herd)
        usual = p["peak_rpm"] * traces.calendar_shape(trace.minutes, p) * traces._mean_cost(p) / 60
        for start, length, overshoot, _ in p["outages"]:
            end = start + length
            if overshoot > 1 and end + 3 <= trace.minutes and not zero[end : end + 3].any():
                returns += trace.cpu[end : end + 3].sum()
                expected += usual[end : end + 3].sum()
        assert set(trace.steps) <= {start + length for start, length, *_ in p["outages"]}
    assert expected > 0 and returns > 1.2 * expected


def test_the_pareto_family_has_heavy_tailed_bursts():
    sizes = []
    for seed in HELD_OUT:
        trace = traces.family("pareto-bursts", seed, 5)
        p = trace.params
        assert 1.2 <= p["size_alpha"] <= 2.0 and 1.1 <= p["duration_alpha"] <= 1.7 and p["bursts"] > 0
        sizes.append(p["largest_ocpus"] / p["size_min_ocpus"])
        above = trace.cpu / np.median(trace.cpu)
        assert np.percentile(above, 99.9) > 2 * np.percentile(above, 90)  # rare minutes far above the rest
    assert max(sizes) > 10  # the largest burst of a run is many times the smallest possible


def _hourly_by_day_type(trace):
    days = trace.minutes // 1440
    weekday = (np.arange(days) + trace.params["start_day"]) % 7
    hourly = trace.cpu[: days * 1440].reshape(days, 24, 60).mean(2)
    return hourly[weekday < 5].mean(0), hourly[weekday >= 5].mean(0) if (weekday >= 5).any() else None


def test_the_nasa_family_follows_the_fitted_profile():
    fit = traces.nasa_fit()
    for seed in HELD_OUT:
        weekday, weekend = _hourly_by_day_type(traces.family("nasa", seed, 7))
        assert np.corrcoef(weekday, fit["weekday_profile"])[0, 1] > 0.9, seed
        assert np.corrcoef(weekend, fit["weekend_profile"])[0, 1] > 0.8, seed


def test_the_nasa_fit_is_documented_and_in_range():
    fit = traces.nasa_fit()
    assert fit["url"] == "https://ita.ee.lbl.gov/html/contrib/NASA-HTTP.html"
    assert "freely redistributed" in fit["licence"]
    assert len(fit["weekday_profile"]) == len(fit["weekend_profile"]) == 24 and len(fit["weekday_factors"]) == 7
    assert np.mean(fit["weekday_profile"]) == pytest.approx(1, abs=0.01)
    assert 10 < fit["mean_rpm"] < 500  # tens of requests a minute: count noise shows
    assert fit["index_of_dispersion"] > 2  # the real trace is burstier than Poisson
    assert sum(w for w, _ in fit["modulation_components"]) <= 1


def test_the_nasa_model_refits_to_its_own_parameters():
    """Draw four weeks of request counts from the fitted model, fit them again: the parameters come back."""
    fit = traces.nasa_fit()
    rng = np.random.default_rng(1000)
    params = dict(start_day=5, mean_rpm=fit["mean_rpm"])
    counts = rng.poisson(traces.nasa_rate(28 * 1440, rng, params)).astype(float)
    again = traces.fit_request_counts(counts, first_weekday=5)
    assert np.corrcoef(again["weekday_profile"], fit["weekday_profile"])[0, 1] > 0.98
    assert np.corrcoef(again["weekend_profile"], fit["weekend_profile"])[0, 1] > 0.95
    assert again["mean_rpm"] == pytest.approx(fit["mean_rpm"], rel=0.25)
    assert again["modulation_var"] == pytest.approx(fit["modulation_var"], rel=0.25)
    assert again["modulation_acf"][1] == pytest.approx(fit["modulation_acf"]["1"], abs=0.1)
    assert again["index_of_dispersion"] > 2


def test_different_seeds_give_new_nasa_draws_not_a_replay():
    a, b = traces.family("nasa", 1000, 5), traces.family("nasa", 1001, 5)
    assert a.params["day_levels"] != b.params["day_levels"]
    assert abs(np.corrcoef(a.cpu, b.cpu)[0, 1]) < 0.95
