"""Traffic routers (one file each, see base.py) and how the canary strategy uses them (routing.py)."""
