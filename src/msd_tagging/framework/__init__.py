"""Kedro glue: the session, hooks, typed parameters, run records and tracking, the CLI's helpers."""
