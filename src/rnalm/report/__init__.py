"""The ``rnalm demo`` job and its HTML report.

:mod:`~rnalm.report.gather` runs the shipped models, :mod:`~rnalm.report.tsv` writes
``predictions.tsv``, :mod:`~rnalm.report.html` fills the Jinja2 template ``templates/demo.html.j2``
(autoescaped), and :mod:`~rnalm.report.demo` runs the whole job; ``rnalm.cli.demo`` only parses the
arguments.
"""
