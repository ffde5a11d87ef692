"""The GPU batch job: one (run, task, chunk) per container attempt."""
