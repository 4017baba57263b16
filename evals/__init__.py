"""The answer eval suite: cases with ground truth computed from spans, run as a user runs
Spanwise, scored by deterministic checks and an optional LLM judge, reported as JSON and
Markdown (``spanwise eval run``, ``spanwise eval compare``).

``cases`` (the YAML schema), ``truth`` (ground truth from spans), ``scenario`` (discovery,
classification and chat per scenario), ``questions``, ``parse`` and ``scoring`` (reading
and checking answers), ``judge``, ``runner``, ``report``, ``pricing``.
"""
