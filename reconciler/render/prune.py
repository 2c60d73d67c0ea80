"""What `--prune` did or would do, in words (reconciler/pipeline/prune.py decides; `plan` and `run` print
these lines). Without --prune, only a count of what it would delete, when there is any."""

from __future__ import annotations

from typing import Any

from reconciler.render.plan import action_diff, action_summary


def _where(action: Any) -> str:
    return f"{action.kind} {action.namespace}/{action.name}"


def prune_lines(pruning: Any, *, dry_run: bool, diffs: bool = True) -> list[str]:
    """Plain lines (no indentation, no markup): the deletes (a plan: would-be deletes, with their
    diffs), what stays and why, the Rollouts left behind, why nothing was pruned."""
    if pruning is None:
        return []
    if not pruning.enabled:
        if not pruning.prunable:
            return []
        return [f"{pruning.prunable} object(s) (at least) this SOURCE applied are no longer in it; `--prune` deletes them "
                f"(`plan --prune` lists them)"]
    lines = []
    if pruning.held:
        lines.append(f"nothing pruned: {pruning.held}"
                     + (f" ({pruning.prunable} object(s) would be otherwise)" if pruning.prunable else ""))
    if dry_run:
        for action in pruning.deletes:
            lines.append(action_summary(action))
            if diffs:
                lines.extend(line for line in action_diff(action).rstrip("\n").splitlines())
    else:
        lines.extend(f"pruned {_where(action)}: no longer in SOURCE" for action in pruning.pruned)
        lines.extend(f"error: {error}" for error in pruning.errors)
    lines.extend(f"kept {obj}: {why}" for obj, why in pruning.kept)
    lines.extend(f"left {text}" for text in pruning.left)
    if not lines:
        lines.append("nothing to prune: every object this SOURCE applied is still in it")
    return lines


def prune_text(pruning: Any, *, dry_run: bool) -> str:
    """`plan` text: a block under its heading (run: one line each)."""
    lines = prune_lines(pruning, dry_run=dry_run)
    if not lines:
        return ""
    if dry_run and getattr(pruning, "enabled", False):
        return "Pruning (--prune):\n" + "".join(f"  {line}\n" for line in lines) + "\n"
    return "".join(f"{line}\n" for line in lines)


def prune_markdown(pruning: Any) -> list[str]:
    """`plan -o markdown`: a section, the would-be deletes' diffs folded like the other objects'."""
    lines = prune_lines(pruning, dry_run=True, diffs=False)
    if not lines:
        return []
    out = ["", "### Pruning" + (" (--prune)" if getattr(pruning, "enabled", False) else ""), ""]
    out += [f"- {line}" for line in lines]
    return out
