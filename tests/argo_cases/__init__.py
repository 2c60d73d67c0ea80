"""Facts transcribed from Argo Rollouts' own Go tests (github.com/argoproj/argo-rollouts), one
row per Argo case: inputs -> the counts Argo expects, each row carrying the Go test's name.
Only the facts are taken (numbers and the case's name); the code that checks them is ours."""
