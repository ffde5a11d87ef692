"""The status API and the dashboard: routes, their response models, the OpenAPI document."""
