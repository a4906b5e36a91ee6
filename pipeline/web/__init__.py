"""The web view for supervision offices (``bulletins serve``; needs the ``web`` extra).

A local, server-rendered application over the results store: counts by category, region and
month with charts, the passages behind every number, adding bulletins (the same batch job as
``bulletins classify``), corrections and the review queue, training and promoting model
versions, and the issue list as XLSX or CSV (the same functions as ``bulletins issues``).

Only :mod:`pipeline.web.app` and the modules it imports need Starlette and Jinja2; the
settings and the corrections export (:mod:`pipeline.web.settings`,
:mod:`pipeline.web.corrections`) do not, so the CLI can check options before the extra is
imported. Queries stay in :mod:`pipeline.reports` and :mod:`pipeline.store`: the web layer
only calls them. See ``docs/web.md``.
"""
