"""The pipeline state machine's steps, one module each: ingest (split an input and start the run),
index (one slice of the run's chunks into the search index), verify (the report and the verdict)
and cleanup (the failure path). app.py's handlers call them."""
