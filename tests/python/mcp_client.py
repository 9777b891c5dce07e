"""Drives Preflight's /mcp/{server} with the official MCP SDK client over
Streamable HTTP. Prints one JSON object: the tools listed and the result of
an allowed and a denied call."""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


async def main(url):
    async with streamablehttp_client(url) as (read, write, get_session_id):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            allowed = await session.call_tool("read_inbox", {"folder": "inbox"})
            denied = await session.call_tool("send_email", {"to": "billing@vendor.example", "body": "paid"})
            print(json.dumps({
                "session": get_session_id(),
                "tools": sorted(t.name for t in tools.tools),
                "allowed": {"is_error": allowed.isError, "text": allowed.content[0].text},
                "denied": {"is_error": denied.isError, "text": denied.content[0].text},
            }))


asyncio.run(main(sys.argv[1]))
