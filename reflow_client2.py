import asyncio
from reflow.client import WorkflowClient
from reflow.events import HumanResponseEvent

async def main():
    c = WorkflowClient(base_url="http://127.0.0.1:18282")
    h = await c.run_workflow_nowait("ask")
    await asyncio.sleep(0.5)
    try:
        print(await c.send_event(h.handler_id, HumanResponseEvent(response="hi")))
    except Exception as e:
        print("ERR", e)
    await asyncio.sleep(0.5)
    try:
        print(await c.get_handler(h.handler_id))
    except Exception as e:
        print("ERR", e)
asyncio.run(main())
