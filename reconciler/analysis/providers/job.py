"""Job: the measurement is a Kubernetes Job; it succeeds or fails with the Job (Argo's job provider).

    provider:
      job:
        metadata: {labels: {...}, annotations: {...}}    # optional, copied onto the Job
        spec: {backoffLimit: 1, template: {spec: {containers: [...], restartPolicy: Never}}}

`run` creates a `batch/v1` Job named `<run uid>.<metric>.<n>` (as Argo names them; seed 001) in
the run's namespace, labelled with the run, metric and rollout under `reconciler.PREFIX`, and
returns a Running measurement. Later invocations `resume` it by reading the Job's status:
condition Complete -> Successful, condition Failed -> Failed, otherwise still Running. `terminate`
deletes the Job. Only the `Cluster` interface is used (create, list, delete), so it works on the
embedded cluster (where reconciler.cluster.kubelet_jobs decides the outcome) and on kube.
"""

from __future__ import annotations

import copy
import hashlib

from reconciler import PREFIX
from reconciler.analysis.measurement import FAILED, RUNNING, SUCCESSFUL, Measurement
from reconciler.analysis.providers.base import ProviderContext, errored
from reconciler.timestamps import iso

RUN_UID_LABEL = f"{PREFIX}/analysis-run-uid"
RUN_LABEL = f"{PREFIX}/analysis-run"
METRIC_LABEL = f"{PREFIX}/analysis-metric"
ROLLOUT_LABEL = f"{PREFIX}/rollout"
MANAGED_LABEL = f"{PREFIX}/managed-by"
MAX_NAME = 63  # the Job controller copies the name into a label on its pods


def _label_value(text: str) -> str:
    text = str(text)
    if len(text) <= 63:
        return text
    return text[:54] + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]


def job_name(run_uid: str, metric: str, index: int) -> str:
    name = f"{run_uid}.{metric}.{index}"
    if len(name) <= MAX_NAME:
        return name
    return f"{run_uid}.{hashlib.sha1(metric.encode()).hexdigest()[:10]}.{index}"


def build_job(metric: dict, ctx: ProviderContext) -> dict:
    config = (metric.get("provider") or {}).get("job") or {}
    metadata = copy.deepcopy(config.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    labels.update(
        {
            RUN_UID_LABEL: ctx.run_uid,
            RUN_LABEL: _label_value(ctx.run),
            METRIC_LABEL: _label_value(str(metric.get("name", ""))),
            ROLLOUT_LABEL: _label_value(ctx.rollout),
            MANAGED_LABEL: "reconciler",
        }
    )
    job_metadata = {
        "name": job_name(ctx.run_uid, str(metric.get("name", "")), ctx.index),
        "namespace": ctx.namespace,
        "labels": labels,
        "annotations": dict(metadata.get("annotations") or {}),
    }
    if ctx.owner:
        job_metadata["ownerReferences"] = [dict(ctx.owner, controller=True, blockOwnerDeletion=True)]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_metadata, "spec": copy.deepcopy(config.get("spec") or {})}


def job_phase(job: dict) -> tuple[str, str]:
    """(phase, message) from a Job's status conditions."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if str(condition.get("status")) != "True":
            continue
        if condition.get("type") == "Complete":
            return SUCCESSFUL, ""
        if condition.get("type") == "Failed":
            # no message, as Argo: seed 001's run says only `... failed (1) > failureLimit (0)`
            return FAILED, ""
    return RUNNING, ""


class JobProvider:
    key = "job"

    def run(self, metric: dict, ctx: ProviderContext) -> Measurement:
        if ctx.cluster is None:
            return errored(metric, ctx, "job provider needs a cluster")
        job = build_job(metric, ctx)
        if not (job["spec"].get("template") or {}).get("spec"):
            return errored(metric, ctx, "job provider needs spec.template.spec")
        from reconciler.errors import Conflict, ReconcilerError

        try:
            ctx.cluster.create(job)
        except Conflict:
            pass  # created by an invocation that died before recording it: adopt the Job
        except ReconcilerError as err:
            return errored(metric, ctx, f"could not create Job {job['metadata']['name']}: {err}")
        return Measurement(
            metric=str(metric.get("name", "")), phase=RUNNING, started_at=iso(ctx.now),
            metadata={"job-name": job["metadata"]["name"], "job-namespace": ctx.namespace},
        )

    def _find(self, ctx: ProviderContext, measurement: dict) -> dict | None:
        metadata = measurement.get("metadata") or {}
        name = metadata.get("job-name")
        namespace = metadata.get("job-namespace") or ctx.namespace
        # one list per namespace per invocation, however many Jobs are in flight (the read budget)
        key = ("Job", namespace)
        if key not in ctx.cache:
            ctx.cache[key] = {
                (j.get("metadata") or {}).get("name"): j for j in ctx.cluster.list("Job", namespace, selector={MANAGED_LABEL: "reconciler"})
            }
        return ctx.cache[key].get(name)

    def resume(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        current = Measurement.from_dict(str(metric.get("name", "")), measurement, replaces_pending=True)
        if ctx.cluster is None:
            return errored(metric, ctx, "job provider needs a cluster")
        job = self._find(ctx, measurement)
        if job is None:
            result = errored(metric, ctx, f"Job {(measurement.get('metadata') or {}).get('job-name')} not found")
            result.metadata, result.started_at = current.metadata, current.started_at
            return result
        phase, message = job_phase(job)
        if phase == RUNNING:
            return current
        current.phase, current.message, current.finished_at = phase, ctx.redact(message), iso(ctx.now)
        return current

    def terminate(self, metric: dict, measurement: dict, ctx: ProviderContext) -> Measurement:
        current = Measurement.from_dict(str(metric.get("name", "")), measurement, replaces_pending=True)
        metadata = measurement.get("metadata") or {}
        if ctx.cluster is not None and metadata.get("job-name"):
            ctx.cluster.delete("Job", metadata.get("job-namespace") or ctx.namespace, metadata["job-name"])
        current.phase, current.message, current.finished_at = SUCCESSFUL, "Metric Terminated", iso(ctx.now)
        return current
