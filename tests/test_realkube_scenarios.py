"""The scenario tests of tests/test_scenario_*.py replayed on a real kube-apiserver, as the deploy/
ServiceAccount (tests/realkube.py: the test plays the ReplicaSet/Job controllers at the run's clock,
as the emulator does), with no 403 in the apiserver's audit log of that ServiceAccount's calls."""

from __future__ import annotations

import importlib

import pytest

pytestmark = [pytest.mark.realkube, pytest.mark.slow]
SA_USER = "system:serviceaccount:default:reconciler"

# Not here: test_crashing_image_times_out. This backend plays the ReplicaSet controller by writing
# ReplicaSet status only; it creates no Pod objects, so there is no CrashLoopBackOff pod to show.
SCENARIOS = [
    ("test_scenario_seed000_canary", "test_seed000_canary_every_step"),
    ("test_scenario_seeds", "test_abort_retry_and_back_to_stable"),
    ("test_scenario_seeds", "test_new_revision_mid_canary_and_undo_reuses_replicaset"),
    ("test_scenario_seeds", "test_promote_and_promote_full"),
    ("test_scenario_seeds", "test_seed000_bluegreen"),
    ("test_scenario_seeds", "test_bluegreen_manual_promotion_skips_middle_revision"),
    ("test_scenario_istio", "test_header_route_survives_the_git_kept_virtualservice"),
]


def _forbidden(plane, since: int) -> list[str]:
    return [f"{e['verb']} {e['requestURI']}" for e in plane.audit(SA_USER)[since:] if (e.get("responseStatus") or {}).get("code") == 403]


@pytest.mark.parametrize("module,function", SCENARIOS, ids=[f for _, f in SCENARIOS])
def test_scenario_on_the_real_apiserver(module, function, realkube_backend, tmp_path):
    test = getattr(importlib.import_module(f"tests.{module}"), function)
    since = len(realkube_backend.api.audit(SA_USER))
    test(realkube_backend, tmp_path)
    assert _forbidden(realkube_backend.api, since) == []
