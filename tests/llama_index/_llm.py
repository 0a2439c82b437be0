"""A scripted LLM: each chat call answers with the next ``Turn`` of a list, offline.

Built on llama-index-core's ``MockFunctionCallingLLM`` (so agents treat it as a function-calling
model); it records what it was asked and streams text and "thinking" chunks when asked to.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import PrivateAttr


@dataclass
class Turn:
    """One answer: text, tool calls ``(name, kwargs)``, and chunks to stream it in."""

    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chunks: list[str] | None = None
    thinking: list[str] = field(default_factory=list)

    def message(self, text: str | None = None) -> ChatMessage:
        blocks: list[Any] = [TextBlock(text=self.text if text is None else text)]
        for index, (name, kwargs) in enumerate(self.calls):
            blocks.append(
                ToolCallBlock(
                    tool_call_id=f"call-{name}-{index}", tool_name=name, tool_kwargs=kwargs
                )
            )
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def call(name: str, **kwargs: Any) -> Turn:
    """A turn that calls one tool."""
    return Turn(calls=[(name, kwargs)])


class ScriptedLLM(MockFunctionCallingLLM):
    """Answers chat calls with ``turns`` in order; fails loudly when the script runs out."""

    _turns: list[Turn] = PrivateAttr(default_factory=list)
    _asked: list[list[ChatMessage]] = PrivateAttr(default_factory=list)

    def __init__(self, turns: Sequence[Turn], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._turns = list(turns)
        self._asked = []

    @property
    def asked(self) -> list[list[ChatMessage]]:
        """The messages of every chat call so far."""
        return self._asked

    @property
    def remaining(self) -> int:
        return len(self._turns)

    def _next(self, messages: Sequence[ChatMessage]) -> Turn:
        self._asked.append(list(messages))
        if not self._turns:
            raise AssertionError(f"the scripted LLM ran out of turns (call {len(self._asked)})")
        return self._turns.pop(0)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        turn = self._next(messages)
        return ChatResponse(message=turn.message(), delta=turn.text)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self.chat(messages, **kwargs)

    async def astream_chat(  # type: ignore[override]
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> AsyncGenerator[ChatResponse, None]:
        turn = self._next(messages)

        async def stream() -> AsyncGenerator[ChatResponse, None]:
            for thought in turn.thinking:
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=""),
                    delta="",
                    additional_kwargs={"thinking_delta": thought},
                )
            text = ""
            for chunk in turn.chunks or [turn.text]:
                text += chunk
                final = text == turn.text
                yield ChatResponse(
                    message=turn.message(text) if final else Turn(text=text).message(),
                    delta=chunk,
                )

        return stream()
