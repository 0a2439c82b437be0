"""Behaviour where reflow deliberately does better than llama-index-workflows 2.26.

Each module pins one documented difference (see ``docs/migrating.md``, "Intentional
differences"); every test fails if the feature it covers were missing.
"""
