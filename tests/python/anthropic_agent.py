"""Drives Preflight's /v1/messages with the official Anthropic SDK, plain and
streamed (the SDK's own stream accumulator must accept what Preflight sends).
Prints one JSON object with the content blocks and stop reason of each."""

import json
import os

import anthropic

client = anthropic.Anthropic(base_url=os.environ["PREFLIGHT_BASE"], api_key="sk-ant-placeholder")
ARGS = dict(
    model="claude-sonnet-4-5",
    max_tokens=512,
    messages=[{"role": "user", "content": "Pay invoice 0412 from the billing inbox."}],
    tools=[{"name": "wire_money", "description": "Send a bank transfer.",
            "input_schema": {"type": "object", "properties": {"iban": {"type": "string"}, "amount": {"type": "number"}}}}],
)


def summary(msg):
    return {"blocks": [b.type for b in msg.content],
            "text": "".join(b.text for b in msg.content if b.type == "text"),
            "stop_reason": msg.stop_reason}


plain = client.messages.create(**ARGS)
with client.messages.stream(**ARGS) as s:
    streamed = s.get_final_message()
print(json.dumps({"plain": summary(plain), "stream": summary(streamed)}))
