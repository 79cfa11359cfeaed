"""The work-order REST API (FastAPI)."""
