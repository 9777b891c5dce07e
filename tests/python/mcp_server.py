"""A real MCP server (FastMCP, Streamable HTTP) for the end-to-end tests:
a mailbox with a read-only tool and a side-effecting one.

    python mcp_server.py PORT
"""

import sys

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("mailbox", host="127.0.0.1", port=int(sys.argv[1]), log_level="WARNING")


@mcp.tool()
def read_inbox(folder: str = "inbox") -> str:
    """List the messages in a folder."""
    return f"{folder}: 2 messages (invoice-0412 from billing@vendor.example, lunch from sam@corp.example)"


@mcp.tool()
def send_email(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
