"""Drift monitoring: reference profiles, vectorised statistics, reports, monitors and widgets.

``profile.py`` is imported by the registry at registration, so this package keeps its imports
lazy: nothing heavy (scipy, ipywidgets) is loaded until a report is computed.
"""
