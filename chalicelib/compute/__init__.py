from chalicelib.compute.base import (
    ACTIVE_STATES,
    PERMANENT_EXIT,
    RETRYABLE_EXIT,
    Compute,
    JobRequest,
    JobStatus,
)

__all__ = ["ACTIVE_STATES", "PERMANENT_EXIT", "RETRYABLE_EXIT", "Compute", "JobRequest", "JobStatus"]
