from chalicelib.ledger.base import Ledger, RunRecord, RunState

__all__ = ["Ledger", "RunRecord", "RunState"]
