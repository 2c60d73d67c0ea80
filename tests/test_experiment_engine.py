"""The experiment state machine (reconciler/engine/experiment.py), table-tested without a cluster:
durations judged by `now` across runs, analyses required or not, failures, termination. The
analysis tables are Argo's (experiments/analysisrun_test.go), cited by test name."""

from datetime import datetime, timedelta, timezone

import pytest

from reconciler.engine import experiment as ex
from reconciler.engine import experiment_spec
from reconciler.engine.state import plain_copy

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeHost(ex.Host):
    """Records writes; ReplicaSets become available when `ready()` says so (a kubelet stand-in)."""

    def __init__(self, now=T0):
        self.namespace = "default"
        self.now = now
        self.objects = {"ReplicaSet": {}, "Service": {}}
        self.runs: dict[str, dict] = {}
        self.writes: list[tuple[str, str, str, int | None]] = []
        self.events: list[str] = []
        self.wanted: set[str] = set()

    def at(self, now):
        self.now = now
        self.writes, self.events, self.wanted = [], [], set()
        return self

    def ready(self):
        for rs in self.objects["ReplicaSet"].values():
            n = rs["spec"]["replicas"]
            rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}

    def replicaset(self, name):
        return self.objects["ReplicaSet"].get(name)

    def service(self, name):
        return self.objects["Service"].get(name)

    def write(self, verb, before, after, reason):
        obj = after or before
        kind, name = obj["kind"], obj["metadata"]["name"]
        self.writes.append((verb, kind, name, (after or {}).get("spec", {}).get("replicas") if kind == "ReplicaSet" else None))
        if verb == "delete":
            self.objects[kind].pop(name)
            return
        stored = plain_copy(after)
        if kind == "ReplicaSet":
            old = (before or {}).get("status") or {}
            n = stored["spec"]["replicas"]
            stored["status"] = {k: min(int(old.get(k) or 0), n) for k in ("readyReplicas", "availableReplicas")}
        self.objects[kind][name] = stored

    def event(self, reason, message, type="Normal"):
        self.events.append(reason)

    def note(self, text):
        pass

    def run(self, name):
        return self.runs.get(name)

    def start_run(self, name, analysis, args):
        self.runs[name] = {"name": name, "status": "Running", "message": "", "args": args}
        return self.runs[name]

    def want_run(self, name):
        self.wanted.add(name)


POD = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "app:1", "ports": [{"containerPort": 8080}]}]}}


def spec(duration="30s", analyses=(), templates=("baseline", "canary"), deadline=None):
    return {
        "name": "exp",
        "duration": duration,
        "progressDeadlineSeconds": deadline,
        "templates": [{"name": t, "replicas": 1, "template": POD, "selector": {"matchLabels": {"app": "web"}}, "service": None, "weight": None}
                      for t in templates],
        "analyses": [dict(a) for a in analyses],
    }


def step(host, the_spec, record, seconds, **kw):
    return ex.reconcile(host.at(T0 + timedelta(seconds=seconds)), the_spec, record, **kw)


def replicas(host):
    return {name: rs["spec"]["replicas"] for name, rs in host.objects["ReplicaSet"].items()}


def test_duration_is_judged_across_runs_from_when_every_template_is_available():
    host, the_spec = FakeHost(), spec("30s")
    record = step(host, the_spec, ex.new_record(the_spec, T0), 0)
    assert record["phase"] == "Pending" and replicas(host) == {"exp-baseline": 1, "exp-canary": 1}
    assert record["availableAt"] is None
    host.ready()
    record = step(host, the_spec, record, 10)  # pods seen available: the duration starts now
    assert record["phase"] == "Running" and record["availableAt"] == "2026-01-01T00:00:10Z"
    for seconds in (20, 39):
        record = step(host, the_spec, record, seconds)
        assert record["phase"] == "Running" and replicas(host) == {"exp-baseline": 1, "exp-canary": 1} and not host.writes
    record = step(host, the_spec, record, 40)
    assert record["phase"] == "Successful" and record["finishedAt"] == "2026-01-01T00:00:40Z"
    assert replicas(host) == {"exp-baseline": 0, "exp-canary": 0}  # scaled down in the run that ends it
    assert [t["status"] for t in record["templates"]] == ["Successful", "Successful"]
    again = step(host, the_spec, record, 100)
    assert again == record and not host.writes  # a completed experiment writes nothing more


def test_replicaset_names_labels_and_a_hash_apart_from_the_revision():
    host, the_spec = FakeHost(), spec()
    step(host, the_spec, ex.new_record(the_spec, T0), 0, owner="web")
    rs = host.objects["ReplicaSet"]["exp-canary"]
    labels = rs["metadata"]["labels"]
    assert labels[experiment_spec.OWNER_LABEL] == "web" and labels[experiment_spec.EXPERIMENT_LABEL] == "exp" and labels[experiment_spec.TEMPLATE_LABEL] == "canary"
    assert rs["metadata"]["annotations"][experiment_spec.ARGO_TEMPLATE_ANNOTATION] == "canary"
    hash_ = labels["rollouts-pod-template-hash"]
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "rollouts-pod-template-hash": hash_}
    assert rs["spec"]["template"]["metadata"]["labels"]["rollouts-pod-template-hash"] == hash_
    from reconciler.engine.hashing import pod_template_hash

    assert hash_ != pod_template_hash(POD)  # the stable / canary Services never select experiment pods
    assert hash_ != host.objects["ReplicaSet"]["exp-baseline"]["metadata"]["labels"]["rollouts-pod-template-hash"]


def test_analyses_start_only_once_available_and_resolve_template_args():
    # TestDontStartAnalysisRunIfNotAvailable / TestCreateAnalysisRunWhenAvailable
    analysis = {"name": "cmp", "templateName": "t", "args": [
        {"name": "rs", "value": "{{templates.canary.replicaset.name}}"},
        {"name": "hash", "value": "{{ templates.baseline.podTemplateHash }}"},
        {"name": "other", "value": "{{templates.nope.podTemplateHash}}"}]}
    host, the_spec = FakeHost(), spec("1m", analyses=[analysis])
    record = step(host, the_spec, ex.new_record(the_spec, T0), 0)
    assert host.runs == {} and record["analyses"][0]["phase"] == "Pending"
    host.ready()
    record = step(host, the_spec, record, 5)
    run = host.runs["exp-cmp"]
    baseline_hash = host.objects["ReplicaSet"]["exp-baseline"]["metadata"]["labels"]["rollouts-pod-template-hash"]
    assert run["args"] == [{"name": "rs", "value": "exp-canary"}, {"name": "hash", "value": baseline_hash},
                           {"name": "other", "value": "{{templates.nope.podTemplateHash}}"}]
    assert record["analyses"][0]["run"] == "exp-cmp" and "exp-cmp" in host.wanted


def _running_with(analyses, duration, available_ago):
    host, the_spec = FakeHost(), spec(duration, analyses=analyses, templates=("bar",))
    record = step(host, the_spec, ex.new_record(the_spec, T0), 0)
    host.ready()
    record = step(host, the_spec, record, 1)
    assert record["phase"] == "Running"
    return host, the_spec, record, 1 + available_ago


@pytest.mark.parametrize("first,second,expected", [
    ("Successful", "Successful", "Successful"),
    ("Failed", "Successful", "Failed"),
    ("Successful", "Failed", "Failed"),
    ("Running", "Successful", "Running"),
])
def test_required_analyses_decide_once_the_duration_is_over(first, second, expected):
    """Argo's TestAssessAnalysisRunStatusesAfterTemplateSuccess (both required, duration 60s passed)."""
    analyses = [{"name": "success-rate", "templateName": "s", "requiredForCompletion": True},
                {"name": "latency", "templateName": "l", "requiredForCompletion": True}]
    host, the_spec, record, later = _running_with(analyses, "60s", 61)
    host.runs["exp-success-rate"]["status"], host.runs["exp-latency"]["status"] = first, second
    record = step(host, the_spec, record, later)
    assert record["phase"] == expected
    assert replicas(host) == {"exp-bar": 0}  # the templates are done either way


@pytest.mark.parametrize("first,second,expected", [
    ("Successful", "Successful", "Running"),
    ("Failed", "Successful", "Failed"),
    ("Successful", "Failed", "Failed"),
    ("Running", "Successful", "Running"),
])
def test_a_failed_analysis_fails_the_experiment_before_its_duration(first, second, expected):
    """Argo's TestFailExperimentWhenAnalysisFails (duration 5m, available 60s ago, none required)."""
    analyses = [{"name": "success-rate", "templateName": "s"}, {"name": "latency", "templateName": "l"}]
    host, the_spec, record, later = _running_with(analyses, "5m", 60)
    host.runs["exp-success-rate"]["status"], host.runs["exp-latency"]["status"] = first, second
    record = step(host, the_spec, record, later)
    assert record["phase"] == expected
    assert replicas(host) == {"exp-bar": 0 if expected == "Failed" else 1}
    if expected == "Failed":
        assert "ExperimentFailed" in host.events


def test_without_duration_a_successful_required_analysis_completes_it():
    """Argo's TestCompleteExperimentOnSuccessfulRequiredAnalysisRun."""
    host, the_spec, record, later = _running_with([{"name": "success-rate", "templateName": "s", "requiredForCompletion": True}], None, 60)
    host.runs["exp-success-rate"]["status"] = "Successful"
    record = step(host, the_spec, record, later)
    assert (record["phase"], record["message"]) == ("Successful", ex.REQUIRED_DONE)


def test_without_duration_a_remaining_required_analysis_keeps_it_running():
    """Argo's TestDoNotCompleteExperimentWithRemainingRequiredAnalysisRun."""
    analyses = [{"name": "success-rate", "templateName": "s", "requiredForCompletion": True},
                {"name": "success-rate-2", "templateName": "s", "requiredForCompletion": True}]
    host, the_spec, record, later = _running_with(analyses, None, 60)
    host.runs["exp-success-rate"]["status"] = "Successful"
    record = step(host, the_spec, record, later)
    assert record["phase"] == "Running"


def test_past_the_duration_an_analysis_not_required_does_not_hold_it():
    """Argo's TestCompleteExperimentWithNoRequiredAnalysis: the run is left to be terminated."""
    host, the_spec, record, later = _running_with([{"name": "success-rate", "templateName": "s"}], "1m", 61)
    record = step(host, the_spec, record, later)
    assert record["phase"] == "Successful" and "exp-success-rate" not in host.wanted


def test_a_duration_is_never_cut_short_by_required_analyses():
    host, the_spec, record, later = _running_with([{"name": "s", "templateName": "s", "requiredForCompletion": True}], "5m", 60)
    host.runs["exp-s"]["status"] = "Successful"
    record = step(host, the_spec, record, later)
    assert record["phase"] == "Running"
    record = step(host, the_spec, record, 1 + 300)
    assert (record["phase"], record["message"]) == ("Successful", ex.REQUIRED_DONE)


@pytest.mark.parametrize("status", ["Error", "Inconclusive"])
def test_an_errored_or_inconclusive_analysis_ends_it_with_that_phase(status):
    host, the_spec, record, later = _running_with([{"name": "s", "templateName": "s"}], "5m", 10)
    host.runs["exp-s"].update(status=status, message="Metric \"m\" assessed " + status)
    record = step(host, the_spec, record, later)
    assert (record["phase"], record["message"]) == (status, "Metric \"m\" assessed " + status)


def test_pods_never_available_fail_it_after_the_progress_deadline():
    host, the_spec = FakeHost(), spec("30s", deadline=60)
    record = step(host, the_spec, ex.new_record(the_spec, T0), 0)
    record = step(host, the_spec, record, 60)
    assert record["phase"] == "Pending"
    record = step(host, the_spec, record, 61)
    assert record["phase"] == "Failed" and "exceeded its progressDeadlineSeconds (60)" in record["message"]
    assert replicas(host) == {"exp-baseline": 0, "exp-canary": 0}


def test_terminate_scales_it_down_and_stops_its_runs():
    host, the_spec, record, later = _running_with([{"name": "s", "templateName": "s"}], "5m", 10)
    record = step(host, the_spec, record, later, terminate=True)
    assert record["phase"] == "Successful" and record["terminated"] and replicas(host) == {"exp-bar": 0}
    assert "exp-s" not in host.wanted  # engine/analysis.finish terminates the run nobody wants
    assert ex.weight_destinations(record) == []


def test_services_for_templates_and_weights_only_while_running():
    host, the_spec = FakeHost(), spec("30s")
    the_spec["templates"][0].update(service="web-experiment-baseline", weight=20)
    the_spec["templates"][1].update(service="", weight=20)
    record = step(host, the_spec, ex.new_record(the_spec, T0), 0)
    assert set(host.objects["Service"]) == {"web-experiment-baseline", "exp-canary"}
    svc = host.objects["Service"]["exp-canary"]
    assert svc["spec"]["selector"] == host.objects["ReplicaSet"]["exp-canary"]["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"] == [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]
    assert ex.weight_destinations(record) == []  # Pending: no pod to send traffic to yet
    host.ready()
    record = step(host, the_spec, record, 5)
    assert ex.weight_destinations(record) == [{"service": "web-experiment-baseline", "weight": 20, "template": "baseline"},
                                              {"service": "exp-canary", "weight": 20, "template": "canary"}]
    record = step(host, the_spec, record, 35)
    assert record["phase"] == "Successful" and ex.weight_destinations(record) == []
    assert set(host.objects["Service"]) == {"web-experiment-baseline", "exp-canary"}  # kept, selecting no pod


def test_the_rollout_planner_scales_down_experiment_replicasets_no_record_names():
    """A lost state (rebuilt from the cluster) forgets its experiments: ReplicaSets labelled for
    the rollout that no recorded experiment names are scaled to 0, never left running."""
    from reconciler.engine.model import Desired, Live
    from reconciler.engine.plan import plan
    from reconciler.engine.state import RolloutState
    from tests.test_engine_plan import apply, rollout

    steps = [{"setWeight": 20}, {"pause": {}}]
    first = plan(Desired(rollout(steps=steps)), Live(), RolloutState(), T0)
    replicasets = apply([], first, T0)
    orphan = experiment_spec.replicaset_for(spec(), spec()["templates"][0], "default", "web", 1)
    orphan["metadata"]["name"] = "web-abc-2-0-1-baseline"
    orphan["status"] = {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    later = plan(Desired(rollout(steps=steps)), Live(replicasets=replicasets, extra={"experimentReplicaSets": [orphan]}), first.state,
                 T0 + timedelta(seconds=10))
    scaled = [(a.name, a.after["spec"]["replicas"]) for a in later.actions if a.kind == "ReplicaSet"]
    assert scaled == [("web-abc-2-0-1-baseline", 0)]


def test_a_failed_experiment_aborts_the_rollout_as_a_failed_analysis_does():
    from reconciler.engine.model import Desired, Live
    from reconciler.engine.plan import plan
    from reconciler.engine.state import RolloutState
    from tests.test_engine_plan import apply, rollout

    def drive(desired, state, replicasets, now):
        mine = [rs for rs in replicasets if experiment_spec.OWNER_LABEL not in rs["metadata"].get("labels", {})]
        live = Live(replicasets=mine, extra={"experimentReplicaSets": [rs for rs in replicasets if rs not in mine]})
        result = plan(Desired(desired), live, state, now)
        return result, apply(replicasets, result, now)

    steps = [{"experiment": {"duration": "5m", "templates": [{"name": "canary", "specRef": "canary"}],
                             "analyses": [{"name": "cmp", "templateName": "missing"}]}}, {"setWeight": 50}]
    first, replicasets = drive(rollout(steps=steps), RolloutState(), [], T0)
    update, replicasets = drive(rollout("app:2", steps=steps), first.state, replicasets, T0 + timedelta(seconds=1))
    assert [a.name for a in update.actions if a.kind == "ReplicaSet"] == [f"web-{update.state.current_hash}-2-0-canary"]
    failed, replicasets = drive(rollout("app:2", steps=steps), update.state, replicasets, T0 + timedelta(seconds=2))
    record = failed.state.experiments[f"web-{update.state.current_hash}-2-0"]
    assert record["phase"] == "Error" and "not found" in record["message"]
    assert failed.status == "Degraded" and failed.degraded_now
    assert failed.message.startswith("RolloutAborted: Rollout aborted update to revision 2: Unable to resolve metric arguments")
    assert [(a.name, a.after["spec"]["replicas"]) for a in failed.actions if a.kind == "ReplicaSet"] == [(f"web-{update.state.current_hash}-2-0-canary", 0)]
    assert failed.view["experiments"][0]["status"] == "Error"
