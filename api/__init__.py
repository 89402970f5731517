"""flopcards' HTTP layer: the FastAPI app, its settings, database and routers."""

__version__ = "0.1.0"
