"""Where a rollout's progress lives between runs: `annotations` (live objects) or `commit` (Git)."""
