"""Helpers for testing workflows."""

from reflow.testing.runner import WorkflowTestResult, WorkflowTestRunner

__all__ = ["WorkflowTestResult", "WorkflowTestRunner"]
