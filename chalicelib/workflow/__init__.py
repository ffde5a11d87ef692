from chalicelib.workflow.base import Execution, Workflow

__all__ = ["Execution", "Workflow"]
