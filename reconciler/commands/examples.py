"""One example (or a few) per command, shown at the end of its --help (cli.py attaches them)."""

from __future__ import annotations

EXAMPLES: dict[str, list[str]] = {
    "validate": ["reconciler validate ./deploy", "reconciler validate ./deploy --cluster kube -o github"],
    "plan": ["reconciler plan ./deploy --now 2026-01-01T00:10:00Z", "reconciler plan https://github.com/org/config --path shop -o markdown"],
    "run": ["reconciler run ./deploy", "RECONCILER_CLUSTER=kube reconciler run https://github.com/org/config --ref main"],
    "get rollout": ["reconciler get rollout web -n shop", "reconciler get rollout web --watch", "reconciler get rollout web -o json"],
    "list rollouts": ["reconciler list rollouts -A", "reconciler list rollouts --watch"],
    "get experiment": ["reconciler get experiment web-6d4f8c7b9-2-0", "reconciler get experiment mock-server-experiment -o json"],
    "list experiments": ["reconciler list experiments", "reconciler list experiments -A -o json"],
    "status": ["reconciler status web --timeout 5m", "reconciler status web --no-watch"],
    "promote": ["reconciler promote web", "reconciler promote web --full"],
    "abort": ["reconciler abort web -n shop"],
    "retry": ["reconciler retry web -n shop"],
    "undo": ["reconciler undo web ./deploy", "reconciler undo web https://github.com/org/config --to-revision 2"],
    "set image": ["reconciler set image web nginx=nginx:1.27 ./deploy", "reconciler set image web nginx=nginx:1.27 --push"],
    "restart": ["reconciler restart web ./deploy", "reconciler restart web --push"],
    "version": ["reconciler --version", "reconciler version -o json"],
    "fields": ["reconciler fields", "reconciler fields --kind Rollout -o json"],
    "demo": ["reconciler demo", "reconciler demo --keep /tmp/demo"],
}


def epilog(lines: list[str]) -> str:
    # "\b" keeps click from re-wrapping the lines into one paragraph.
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
