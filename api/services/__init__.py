"""The service tier: use cases that join the store, the grader and the models.

Routers (HTTP) call these; these call ``api.store`` through ``Database.run`` and the
pure packages (``grader``, ``models``, ``content``). Nothing here knows HTTP.
"""
