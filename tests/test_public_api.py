"""Every module path and public name a llama-index-workflows user imports exists under reflow."""

from __future__ import annotations

import importlib

import pytest

# Names measured from llama-index-workflows 2.26.1 (its modules' public, non-typing names).
PUBLIC = {
    "reflow": ["Context", "Workflow", "catch_error", "step"],
    "reflow.events": [
        "CollectionReleaseEvent", "DictLikeModel", "Event", "EventType", "HumanResponseEvent",
        "IdleReleasedEvent", "InputRequiredEvent", "InternalDispatchEvent", "SerializableEvent",
        "SerializableEventType", "SerializableException", "SerializableOptionalEvent",
        "SerializableOptionalException", "StartEvent", "StepFailedEvent", "StepState",
        "StepStateChanged", "StopEvent", "UnhandledEvent", "UnreconstructedException",
        "WorkflowCancelledEvent", "WorkflowFailedEvent", "WorkflowIdleEvent",
        "WorkflowTimedOutEvent",
    ],
    "reflow.context": ["BaseSerializer", "Context", "JsonSerializer", "PickleSerializer"],
    "reflow.context.state_store": ["DictState", "InMemoryStateStore", "MODEL_T", "StateStore"],
    "reflow.context.serializers": [
        "BaseSerializer", "JsonPickleSerializer", "JsonSerializer", "PickleSerializer",
    ],
    "reflow.decorators": [
        "StepConfig", "StepFunction", "StepGraphCheck", "WorkflowGraphCheck", "catch_error", "step",
    ],
    "reflow.errors": [
        "ContextSerdeError", "ContextStateError", "WorkflowCancelledByUser",
        "WorkflowConfigurationError", "WorkflowDone", "WorkflowRuntimeError",
        "WorkflowStepDoesNotExistError", "WorkflowTimeoutError", "WorkflowValidationError",
    ],
    "reflow.handler": ["WorkflowHandler"],
    "reflow.retry_policy": [
        "ConstantDelayRetryPolicy", "ExponentialBackoffRetryPolicy", "RetryInfo", "RetryPolicy",
        "retry_all", "retry_always", "retry_any", "retry_if_exception",
        "retry_if_exception_cause_type", "retry_if_exception_message",
        "retry_if_exception_type", "retry_if_not_exception_message",
        "retry_if_not_exception_type", "retry_never", "retry_policy",
        "retry_unless_exception_type", "stop_after_attempt", "stop_after_delay", "stop_all",
        "stop_any", "stop_before_delay", "stop_never", "wait_chain", "wait_combine",
        "wait_exponential", "wait_exponential_jitter", "wait_fixed", "wait_full_jitter",
        "wait_incrementing", "wait_none", "wait_random", "wait_random_exponential",
    ],
    "reflow.resource": [
        "Resource", "ResourceConfig", "ResourceDefinition", "ResourceDescriptor",
        "ResourceManager",
    ],
    "reflow.testing": ["WorkflowTestRunner"],
    "reflow.testing.runner": ["WorkflowTestResult", "WorkflowTestRunner"],
    "reflow.representation": [
        "WorkflowEventNode", "WorkflowExternalNode", "WorkflowGenericNode", "WorkflowGraph",
        "WorkflowGraphEdge", "WorkflowGraphNode", "WorkflowNodeBase", "WorkflowResourceConfigNode",
        "WorkflowResourceNode", "WorkflowStepNode", "get_workflow_representation",
    ],
    "reflow.plugins": ["BasicRuntime", "basic_runtime", "get_current_runtime"],
    "reflow.types": ["RunResultT", "StopEventT"],
    "reflow.collect": ["All", "Collect", "Take"],
    "reflow.runtime.types.plugin": [
        "ControlLoopFunction", "ExternalRunAdapter", "InternalRunAdapter", "NamedTask",
        "PendingStart", "RegisteredWorkflow", "Runtime", "SnapshottableAdapter",
        "V2RuntimeCompatibilityShim", "WaitForNextTaskResult", "WaitResult", "WaitResultTick",
        "WaitResultTimeout", "WorkflowRunFunction", "WorkflowSet", "as_snapshottable_adapter",
        "as_v2_runtime_compatibility_shim",
    ],
    "reflow.runtime.runtime_decorators": [
        "BaseExternalRunAdapterDecorator", "BaseInternalRunAdapterDecorator",
        "BaseRuntimeDecorator",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_module_exposes_the_peer_names(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert missing == []


def test_the_top_level_exports_only_the_four_names_and_the_version() -> None:
    import reflow

    assert sorted(reflow.__all__) == ["Context", "Workflow", "__version__", "catch_error", "step"]
