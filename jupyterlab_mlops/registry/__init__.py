"""Model registry: versioned, aliased, gated and traceable models.

``RegistryService`` (``service.py``) holds the logic; ``api.py`` is the in-notebook
``mlops.register_model`` / ``mlops.load_model``.
"""

from ..refs import ModelRef, parse_ref

__all__ = ["ModelRef", "parse_ref"]
