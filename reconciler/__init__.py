"""reconciler: the behaviour of Argo Rollouts as a GitOps batch job.

One invocation = one pass: source -> manifests -> validation -> observe -> plan -> apply -> record.
See docs/ARCHITECTURE.md for the module map.
"""

__version__ = "0.1.0"

# The one prefix for every label and annotation the reconciler writes itself.
PREFIX = "reconciler.rollouts.io"
# Argo's label, kept so Rollout users recognise ReplicaSets, pods and Service selectors.
POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"
