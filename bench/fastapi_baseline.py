"""The FastAPI + Mangum baseline for cold start: the smallest app serving GET /health.

Imported only inside a fresh interpreter by ``bench/cold_start_child.py``.
"""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
