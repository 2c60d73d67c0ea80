"""`list rollouts` against seed 000's table."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.render.table import render_rollout_list

SEED_000 = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "000_f2aab02eecf1255c.txt"

CANARY = {
    "name": "rollout-test-canary-nginx", "namespace": "default", "strategy": "Canary", "status": "Healthy",
    "step": 4, "totalSteps": 4, "setWeight": 100, "actualWeight": 100,
    "replicas": {"desired": 5, "current": 5, "updated": 5, "ready": 5, "available": 5},
}
BLUEGREEN = {
    "name": "rollout-test-bluegreen-nginx", "namespace": "shop", "strategy": "BlueGreen", "status": "Progressing",
    "step": None, "totalSteps": 0, "setWeight": None, "actualWeight": None,
    "replicas": {"desired": 5, "current": 10, "updated": 5, "ready": 5, "available": 5},
}


def squeeze(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip())


def test_seed_000_list_rollouts_cells():
    lines = SEED_000.read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if "kubectl argo rollouts list rollouts" in line)
    expected = [squeeze(lines[start + 1]), squeeze(lines[start + 2])]
    rendered = render_rollout_list([CANARY]).rstrip("\n").split("\n")
    assert [squeeze(line) for line in rendered] == expected


def test_columns_align_like_tabwriter():
    rendered = render_rollout_list([CANARY, BLUEGREEN]).rstrip("\n").split("\n")
    assert rendered[0] == (
        "NAME                          STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE"
    )
    assert rendered[1] == "rollout-test-canary-nginx     Canary     Healthy       4/4   100         5/5    5        5           5"
    assert rendered[2] == "rollout-test-bluegreen-nginx  BlueGreen  Progressing   -     -           5/10   5        5           5"
    assert all(line == line.rstrip() for line in rendered)


def test_all_namespaces_adds_a_column_and_empty_list_says_so():
    rendered = render_rollout_list([BLUEGREEN], all_namespaces=True).split("\n")
    assert rendered[0].startswith("NAMESPACE  NAME ")
    assert rendered[1].startswith("shop       rollout-test-bluegreen-nginx")
    assert render_rollout_list([]) == "No resources found.\n"
