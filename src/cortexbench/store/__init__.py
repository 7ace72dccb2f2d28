"""The versioned baseline store: ``<directory>/<name>/v0001.parquet``, ``v0002.parquet``, ...

A version is immutable: the samples of every benchmark, with the run metadata and the summary
in the footer. Updates add the next version by hard-linking a complete, fsynced temporary file
onto a name that must not exist yet, so a reader sees a version whole or not at all, a killed
update leaves at most an ignored temporary file, and two concurrent updates cannot overwrite
each other. Only :meth:`BaselineStore.prune` ever removes a version.

Testbeds (machine classes): each version records the testbed its runs ran on (``testbed`` in its
footer; one testbed per version). A lookup for a testbed sees only that testbed's versions, so
``main`` keeps one current version per testbed in the same folder and numbering; comparing with
another testbed's version takes an explicit choice (``baseline.testbed`` in the config).

Modules: ``versions`` (:class:`~cortexbench.store.versions.BaselineStore`, which commands are
handed, so a test can hand them another), ``footer`` (what a version says about itself),
``files`` (the folder's layout, cheap enough for the workflow to list at parse time) and
``legacy`` (the original JSON format).
"""
