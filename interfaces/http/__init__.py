"""The FastAPI HTTP API under /v1: translate requests into commands and queries, answer in JSON."""
