"""Typed state: the run's shared state is a pydantic model instead of a free-form dict.

Shows ``Context[Cart]`` in step signatures (the engine infers the state type from it),
``ctx.store.edit_state()`` to change the state under a lock, and ``ctx.store.get_state()`` to
read a copy.

    python examples/typed_state.py
    reflow run examples/typed_state.py:workflow --json '{"products": ["tea", "tea", "milk"]}'
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent

PRICES = {"tea": 3.5, "milk": 1.25, "bread": 2.0}


class Cart(BaseModel):
    """Every field needs a default: the state starts empty."""

    quantities: dict[str, int] = Field(default_factory=dict)
    unknown: list[str] = Field(default_factory=list)


class Order(StartEvent):
    products: list[str] = ["tea", "bread", "tea"]


class Filled(Event):
    pass


class Checkout(Workflow):
    """Fill a cart from a list of items, then total it."""

    @step
    async def fill(self, ev: Order, ctx: Context[Cart]) -> Filled:
        async with ctx.store.edit_state() as cart:
            for item in ev.products:
                if item in PRICES:
                    cart.quantities[item] = cart.quantities.get(item, 0) + 1
                else:
                    cart.unknown.append(item)
        return Filled()

    @step
    async def total(self, ev: Filled, ctx: Context[Cart]) -> StopEvent:
        cart = await ctx.store.get_state()
        amount = sum(PRICES[item] * n for item, n in cart.quantities.items())
        return StopEvent(
            result={"items": cart.quantities, "unknown": cart.unknown, "total": amount}
        )


workflow = Checkout(timeout=30)


async def run_example() -> None:
    print(await workflow.run(products=["milk", "tea", "jam"]))


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
