"""Optional adapters between recallrai and other libraries, each in a submodule behind its extra.

``recallrai.integrations.openai`` (``recallrai[openai]``), ``.agents`` (``recallrai[agents]``),
``.langchain`` (``recallrai[langchain]``) and ``.otel`` (``recallrai[otel]``, built on the
client's event hooks). Nothing is imported here, so ``import recallrai`` never pulls in a
third-party package.
"""
