from chalicelib.compute.base import (
    ACTIVE_STATES,
    Compute,
    JobRequest,
    JobStatus,
)

__all__ = ["ACTIVE_STATES", "Compute", "JobRequest", "JobStatus"]
