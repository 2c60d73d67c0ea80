"""Replica math for canary weights (seed 002, section on replica counts)."""

from __future__ import annotations

import math


def canary_split(replicas: int, weight: int, traffic_routed: bool) -> tuple[int, int]:
    """(canary, stable) replica counts for a canary at `weight` percent.

    Without traffic routing the weight is realised by pod counts (formula 1):
        canary = ceil(replicas * weight / 100), stable = replicas - canary
    With a traffic router the router splits traffic, so stable stays whole (formula 2):
        canary = ceil(replicas * weight / 100), stable = replicas
    """
    weight = max(0, min(100, weight))
    canary = math.ceil(replicas * weight / 100)
    stable = replicas if traffic_routed else replicas - canary
    return canary, stable
