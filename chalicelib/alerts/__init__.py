from chalicelib.alerts.base import Alert, AlertSink

__all__ = ["Alert", "AlertSink"]
