"""What a batch job's exit code tells Batch (and the local compute): retry it or not."""

RETRYABLE_EXIT = 75  # EX_TEMPFAIL: throttling, network, a store not yet consistent
PERMANENT_EXIT = 65  # EX_DATAERR: corrupt model, missing chunk, misconfiguration
