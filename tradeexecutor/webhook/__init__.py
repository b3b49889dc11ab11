"""The webhook: a read-only HTTP view of the executor (pyramid app served by waitress on a thread).

It reads only the run-state snapshot, the log ring buffer and the metrics registry; it
never touches web3 or the live state object. Routes are declared in `routes.py`, views
are thin, and the logic lives in plain functions in `documents.py` and `http.py`.
"""
