"""The outside services a flow uses: one Redis connection pool and the key namespace.

Keys follow the seed's names (``datastore:queue:<name>``, ``datastore:cache:<key>``) behind an
optional ``prefix``, so several flows (or tests) can share one Redis without colliding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_REDIS_URL", "FlowServices"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class FlowServices:
    """Lazily connects to Redis at ``redis_url``; ``prefix`` goes in front of every key."""

    redis_url: str = DEFAULT_REDIS_URL
    prefix: str = ""
    _client: Redis | None = field(default=None, repr=False)

    def redis(self) -> Redis:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self.redis_url, decode_responses=False)
        return self._client

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def queue_key(self, name: str) -> str:
        return self.key("datastore", "queue", name)

    def cache_key(self, name: str) -> str:
        return self.key("datastore", "cache", name)

    def dlq_key(self, flow_name: str) -> str:
        return self.key("dlq", flow_name)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def describe(self) -> dict[str, Any]:
        return {"redis_url": self.redis_url, "prefix": self.prefix}
