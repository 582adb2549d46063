"""The web layer: FastAPI app factory, JSON API, review pages. The only package that imports FastAPI."""
