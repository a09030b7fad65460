"""Cross-domain orchestration, persisted step by step.

A workflow is what no single domain owns: one-click deploy (runs → registry → serving), the
drift retrain loop (drift → runs → registry → serving), and later pipelines and schedules. Each
is a record in the store (``workflows`` + ``workflow_steps``, see :mod:`.records`) so that a
server restart neither loses a deploy in progress nor forgets a retrain decision: on start the
server resumes every unfinished workflow from its current step. Workflows call the domains'
public services and subscribe to their events; domains never import this package.
"""
