"""A billing agent that talks to the model through Preflight.

The only change from a plain OpenAI agent is `base_url`: requests go to
Preflight, which forwards them and removes (and explains) any tool call its
policy blocks before this script sees it.

    PREFLIGHT_URL=http://127.0.0.1:8787/v1 OPENAI_API_KEY=sk-... python examples/agent_openai.py

Prints one JSON object: the text and tool calls of a normal answer and of a
streamed one.
"""

import json
import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("PREFLIGHT_URL", "http://127.0.0.1:8787/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-placeholder"),
)

TOOLS = [
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a local file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "wire_money", "description": "Send a bank transfer.",
        "parameters": {"type": "object", "properties": {"iban": {"type": "string"}, "amount": {"type": "number"}},
                       "required": ["iban", "amount"]}}},
]
MESSAGES = [
    {"role": "system", "content": "You are a careful billing assistant."},
    {"role": "user", "content": "Read invoice-0412.txt and tell me what I owe."},
]
MODEL = os.environ.get("PREFLIGHT_MODEL", "gpt-4o-mini")


def plain():
    r = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    msg = r.choices[0].message
    return {
        "content": msg.content,
        "tool_calls": [{"name": c.function.name, "arguments": c.function.arguments} for c in msg.tool_calls or []],
        "finish_reason": r.choices[0].finish_reason,
    }


def streamed():
    text, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, stream=True):
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        text += delta.content or ""
        for tc in delta.tool_calls or []:
            c = calls.setdefault(tc.index, {"name": "", "arguments": ""})
            if tc.function and tc.function.name:
                c["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                c["arguments"] += tc.function.arguments
        finish = choice.finish_reason or finish
    return {"content": text, "tool_calls": [calls[i] for i in sorted(calls)], "finish_reason": finish}


if __name__ == "__main__":
    print(json.dumps({"plain": plain(), "stream": streamed()}))
