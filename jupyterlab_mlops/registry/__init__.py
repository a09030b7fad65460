"""Model registry: versioned, aliased, gated and traceable models.

``RegistryService`` (``service.py``) is the domain's one entry point; ``schemas.py`` holds its
REST/config models, ``ports.py`` what it needs from other domains (passed in by ``app.py``).
The in-notebook ``mlops.register_model`` / ``mlops.load_model`` live in ``facade/registry.py``.
"""

from ..refs import ModelRef, parse_ref

__all__ = ["ModelRef", "parse_ref"]
