"""What users see: the `get rollout` tree, the `list rollouts` table, plan text/markdown/diff.

Renderers take plain values (the `get rollout -o json` dict of docs/ARCHITECTURE.md) and return
strings; they do no I/O and read no clock (`now` is passed for AGE columns).
"""
