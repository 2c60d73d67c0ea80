"""Golden tests: every `get rollout` transcript in the seeds, read back into a rollout view and
rendered again, must give the same text (AGE from `now`, delay countdowns, tags, symbols)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.render.timefmt import human_duration
from reconciler.render.tree import render_header, render_rollout, render_tree, status_icon

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

ROW = re.compile(
    r"^(?P<prefix>[│├└─ ]*)(?P<icon>[⟳⧉□⊞Σα]) (?P<name>\S+)\s+"
    r"(?P<kind>Rollout|ReplicaSet|Pod|AnalysisRun|Job|Experiment)\s+\S (?P<status>\S+)\s+(?P<age>\S+)(?:\s+(?P<info>\S.*))?$"
)
REVISION = re.compile(r"^(?P<prefix>[│├└─ ]*)# revision:(?P<revision>\d+)\s*$")
IMAGE = re.compile(r"^(?P<image>\S+)(?: \((?P<tags>[^)]*)\))?$")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(age_text: str) -> int:
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", age_text))


def transcript_blocks(text: str):
    """(header lines, tree lines) of every `get rollout` output that has a tree."""
    lines = text.split("\n")
    for start, line in enumerate(lines):
        if not re.match(r"^\s*Name: {12}\S", line) or start + 1 >= len(lines) or "Namespace:" not in lines[start + 1]:
            continue
        indent = len(line) - len(line.lstrip())
        block = [entry[indent:] if entry[:indent].strip() == "" else entry for entry in lines[start:]]
        end_header = next(i for i, entry in enumerate(block) if entry.strip().startswith("Available:"))
        header = block[: end_header + 1]
        if block[end_header + 1].strip() != "" or not block[end_header + 2].startswith("NAME "):
            continue
        tree = []
        for entry in block[end_header + 2 :]:
            if not (entry.startswith("NAME ") or ROW.match(entry.rstrip()) or REVISION.match(entry.rstrip())):
                break
            tree.append(entry)
        yield header, tree


def view_from_transcript(header: list[str], tree: list[str]) -> dict:
    view: dict = {"images": [], "replicas": {}, "replicaSets": [], "analysisRuns": [], "experiments": []}
    for line in header:
        label, _, value = line[:17].strip(), None, line[17:].strip()
        if label == "Name:":
            view["name"] = value
        elif label == "Namespace:":
            view["namespace"] = value
        elif label == "Status:":
            view["status"] = value.split(" ", 1)[1]
        elif label == "Message:":
            view["message"] = value
        elif label == "Strategy:":
            view["strategy"] = value
        elif label == "Step:":
            step, total = value.split("/")
            view["step"], view["totalSteps"] = int(step), int(total)
        elif label == "SetWeight:":
            view["setWeight"] = int(value)
        elif label == "ActualWeight:":
            view["actualWeight"] = int(value)
        elif label in ("Images:", "") and value:
            match = IMAGE.match(value)
            view["images"].append({"image": match["image"], "tags": match["tags"].split(", ") if match["tags"] else []})
        elif label in ("Desired:", "Current:", "Updated:", "Ready:", "Available:"):
            view["replicas"][label[:-1].lower()] = int(value)
    revision = None
    parents: list[tuple[int, dict]] = []  # (depth, node) of the open ReplicaSets / runs / experiments
    for line in tree[1:]:
        line = line.rstrip()
        if match := REVISION.match(line):
            revision, parents = int(match["revision"]), []
            continue
        match = ROW.match(line)
        assert match, f"cannot read tree row {line!r}"
        depth = len(match["prefix"])
        while parents and parents[-1][0] >= depth:
            parents.pop()
        created = iso(NOW - timedelta(seconds=seconds(match["age"])))
        info = [item for item in (match["info"] or "").split(",") if item]
        kind = match["kind"]
        node: dict = {"name": match["name"], "status": match["status"], "createdAt": created}
        if kind == "Rollout":
            view["createdAt"] = created
            continue
        if kind == "ReplicaSet":
            node.update(revision=revision, tags=[i for i in info if not i.startswith("delay:")], pods=[])
            for item in info:
                if item == "delay:passed":
                    node["scaleDownDeadline"] = iso(NOW - timedelta(seconds=1))
                elif item.startswith("delay:"):
                    node["scaleDownDeadline"] = iso(NOW + timedelta(seconds=seconds(item[6:])))
            parent = parents[-1][1] if parents else None
            (parent["replicaSets"] if parent is not None else view["replicaSets"]).append(node)
        elif kind == "Pod":
            node["ready"] = next(i[6:] for i in info if i.startswith("ready:"))
            node["restarts"] = next((int(i[9:]) for i in info if i.startswith("restarts:")), 0)
            parents[-1][1]["pods"].append(node)
        elif kind == "Experiment":
            node.update(revision=revision, replicaSets=[], analysisRuns=[])
            view["experiments"].append(node)
        elif kind == "AnalysisRun":
            node.update(revision=revision, jobs=[])
            for item in info:
                icon, count = item.split(" ")
                node[{"✔": "successful", "✖": "failed", "?": "inconclusive", "⚠": "error"}[icon]] = int(count)
            parent = parents[-1][1] if parents else None
            (parent["analysisRuns"] if parent is not None else view["analysisRuns"]).append(node)
        elif kind == "Job":
            parents[-1][1]["jobs"].append(node)
        parents.append((depth, node))
    return view


def seed_blocks():
    cases = []
    for path in sorted(SEEDS.glob("*.txt")):
        for index, (header, tree) in enumerate(transcript_blocks(path.read_text())):
            cases.append(pytest.param(header, tree, id=f"{path.name[:3]}-{index}"))
    return cases


BLOCKS = seed_blocks()


def test_the_seeds_have_transcripts_to_compare_against():
    ids = {case.id.split("-")[0] for case in BLOCKS}
    assert {"000", "002", "004"} <= ids
    assert len(BLOCKS) >= 40


def squeeze(line: str) -> str:
    return re.sub(r"\s+", " ", line.rstrip())


@pytest.mark.parametrize("header,tree", BLOCKS)
def test_render_reproduces_seed_transcript(header, tree):
    view = view_from_transcript(header, tree)
    rendered = render_rollout(view, NOW).rstrip("\n").split("\n")
    expected = [line.rstrip() for line in header] + [""] + [line.rstrip() for line in tree]
    assert len(rendered) == len(expected)
    rollout_row = tree[1]
    seed_is_aligned = tree[0].index("KIND") == rollout_row.index("Rollout")
    for got, want in zip(rendered, expected):
        if seed_is_aligned:
            assert got == want
        else:
            # seed 000's canary transcript was renamed by hand after capture, so its columns drift;
            # compare cell by cell there.
            assert squeeze(got) == squeeze(want)


def test_seed_000_first_canary_state_line_by_line():
    """The step-0 state of seed 000's canary, built by hand the way the engine builds the view."""
    created = lambda age: iso(NOW - timedelta(seconds=age))  # noqa: E731
    view = {
        "name": "rollout-test-canary-nginx", "namespace": "default", "strategy": "Canary",
        "status": "Progressing", "message": "more replicas need to be updated",
        "step": 0, "totalSteps": 4, "setWeight": 20, "actualWeight": 0, "revision": 2,
        "createdAt": created(297),
        "images": [
            {"image": "nginx/nginx-prometheus-exporter:0.11.0", "tags": ["canary", "stable"]},
            {"image": "nginx:1.14.1", "tags": ["stable"]},
            {"image": "nginx:1.14.2", "tags": ["canary"]},
        ],
        "replicas": {"desired": 5, "current": 5, "updated": 1, "ready": 4, "available": 4},
        "replicaSets": [
            {"name": "rollout-test-canary-nginx-bc478cd89", "revision": 2, "status": "Progressing", "tags": ["canary"],
             "createdAt": created(7), "pods": [{"name": "rollout-test-canary-nginx-bc478cd89-w7clb", "status": "Running", "ready": "2/2", "createdAt": created(6)}]},
            {"name": "rollout-test-canary-nginx-598c9cf7c8", "revision": 1, "status": "Healthy", "tags": ["stable"], "createdAt": created(297),
             "pods": [{"name": f"rollout-test-canary-nginx-598c9cf7c8-{s}", "status": "Running", "ready": "2/2", "createdAt": created(297)} for s in ("dkq5v", "ph8pf", "pw8md", "rqbr5")]},
        ],
    }
    assert render_header(view).split("\n")[:8] == [
        "Name:            rollout-test-canary-nginx",
        "Namespace:       default",
        "Status:          ◌ Progressing",
        "Message:         more replicas need to be updated",
        "Strategy:        Canary",
        "  Step:          0/4",
        "  SetWeight:     20",
        "  ActualWeight:  0",
    ]
    seed_tree = [
        "NAME                                            KIND        STATUS         AGE    INFO",
        "⟳ rollout-test-canary-nginx                            Rollout     ◌ Progressing  4m57s",
        "├──# revision:2",
        "│  └──⧉ rollout-test-canary-nginx-bc478cd89            ReplicaSet  ◌ Progressing  7s     canary",
        "│     └──□ rollout-test-canary-nginx-bc478cd89-w7clb   Pod         ✔ Running      6s     ready:2/2",
        "└──# revision:1",
        "   └──⧉ rollout-test-canary-nginx-598c9cf7c8           ReplicaSet  ✔ Healthy      4m57s  stable",
    ]
    rendered = render_tree(view, NOW).split("\n")
    assert [squeeze(line) for line in rendered[:7]] == [squeeze(line) for line in seed_tree]
    # columns line up: KIND starts at the same place on every row
    kind_at = rendered[0].index("KIND")
    assert rendered[1].index("Rollout") == kind_at and rendered[3].index("ReplicaSet") == kind_at and rendered[4].index("Pod") == kind_at
    assert kind_at == len("      ├──□ rollout-test-canary-nginx-598c9cf7c8-dkq5v") + 2  # widest name + padding


def test_blue_green_has_no_step_lines_and_degraded_without_replicasets_still_prints_the_rollout_row():
    view = {"name": "bg", "namespace": "default", "strategy": "BlueGreen", "status": "Degraded",
            "message": "InvalidSpec: activeService missing", "replicas": {"desired": 5}, "createdAt": iso(NOW)}
    text = render_rollout(view, NOW)
    assert "Step:" not in text and "SetWeight" not in text
    assert "Status:          ✖ Degraded" in text
    assert text.rstrip().split("\n")[-1] == "⟳ bg  Rollout  ✖ Degraded  0s"


def test_canary_without_step_index_leaves_step_blank():
    text = render_header({"name": "x", "namespace": "d", "strategy": "Canary", "status": "Healthy", "step": None, "totalSteps": 0, "setWeight": 100, "actualWeight": 100})
    assert "  Step:\n" in text


@pytest.mark.parametrize(
    "age_seconds,text",
    [(-5, "<invalid>"), (-0.5, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (178, "2m58s"), (600, "10m"), (10799, "179m"),
     (10800, "3h"), (12000, "3h20m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (2 * 86400, "2d"), (2 * 86400 + 3600, "2d1h"), (30 * 86400, "30d"),
     (3 * 365 * 86400, "3y"), (10 * 365 * 86400, "10y")],
)
def test_human_duration_matches_kubectl(age_seconds, text):
    assert human_duration(age_seconds) == text


def test_status_icons_follow_argo():
    assert [status_icon(s) for s in ("Healthy", "Progressing", "Paused", "Degraded", "ScaledDown", "Inconclusive")] == ["✔", "◌", "॥", "✖", "•", "⚠"]
    assert status_icon("CrashLoopBackOff", "Pod") == "⚠"
    assert status_icon("Terminating", "Pod") == "◌"


def test_color_adds_argo_colours_and_keeps_columns_aligned():
    header, tree = BLOCKS[0].values
    view = view_from_transcript(header, tree)
    plain = render_rollout(view, NOW).split("\n")
    colored = render_rollout(view, NOW, color=True)
    assert "\x1b[32m✔\x1b[0m Healthy" in colored and "\x1b[32mstable\x1b[0m" in colored
    strip = re.compile(r"\x1b\[[0-9;]*m")
    assert [strip.sub("", line) for line in colored.split("\n")] == plain
