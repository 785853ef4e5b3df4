"""`make bench`: the order pipeline, the API, the history and the event stream, each measured
beside its floor.

Run with `python -m bench` (see bench/README.md). One module per benchmark; `stats` and
`report` are pure helpers, `stack` starts and stops the processes production runs.
"""
