"""The domain model: what the executor holds, traded and sent to the chain.

Imports nothing else of the package, so every layer can depend on it and it can be read
(and tested) on its own.
"""
