"""Optional adapters between recallrai and other libraries.

Each adapter lives in a submodule that needs its own extra, e.g. ``recallrai.integrations.otel``
(``pip install 'recallrai[otel]'``). Nothing is imported here, so neither ``import recallrai``
nor ``import recallrai.integrations`` pulls in a third-party package.
"""
