"""The engine: one module per verb around a small Workspace.

add, status, checkout (materialise and reconcile), fetch, push (the command and the
pre-push hook share one function), pull, verify, resolve, precommit. Every function
returns values (results, plans, questions); nothing here prints or asks: the CLI and
hook layers do (cli*.py, hookcmd.py, report.py).
"""
