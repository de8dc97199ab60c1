"""``rnalm serve`` and ``rnalm worker``: a web page and a JSON API over the predictors.

One module per job: :mod:`.config` (what the server was started with: data folder, registered
models, limits, token), :mod:`.jobs` (the job table in SQLite: the single source of truth for a
job's state), :mod:`.queue` (huey: SQLite in the data folder, or Redis shared by several hosts),
:mod:`.inputs` (a submission read and checked as the CLI reads files), :mod:`.runners` (one
function per job kind over the predictor interface), :mod:`.worker` (a worker process),
:mod:`.supervisor` (worker processes, re-queueing jobs of dead workers, expiry), :mod:`.app`
(the FastAPI application: API and page).
"""
