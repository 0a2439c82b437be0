"""The retry building blocks behind :mod:`reflow.retry_policy`: conditions, stops and waits."""
