"""Analysis: AnalysisTemplate / AnalysisRun semantics measured across invocations (issue 5).

Pure core (no I/O, no clock): `run` (the run state machine), `expr` (safe conditions),
`templates` (templates + args -> resolved metrics), `checks` (validation findings).
I/O side: `measure` (dispatch to `providers/`: prometheus, job, web).
See docs/analysis.md for the seam the engine uses.
"""
