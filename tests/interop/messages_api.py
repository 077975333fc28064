"""What the scripted Messages API endpoints (scripted_model.py, scripted_agents.py) share:
one streamed assistant turn, a tool_use or a closing text, as the Messages API streams it."""
import json
import uuid


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def count_tokens(handler):
    """Answers `/v1/messages/count_tokens`."""
    out = json.dumps({"input_tokens": 10}).encode()
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(out)))
    handler.end_headers()
    handler.wfile.write(out)


def turn(handler, body, use):
    """Streams one turn: `use` is `(tool name, input)` for a tool_use, else None (text,
    end of turn)."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.end_headers()
    w = handler.wfile.write
    w(sse("message_start", {"type": "message_start", "message": {
        "id": "msg_" + uuid.uuid4().hex[:12], "type": "message", "role": "assistant",
        "model": body.get("model", "x"), "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}))
    if use:
        name, args = use
        w(sse("content_block_start", {"type": "content_block_start", "index": 0,
              "content_block": {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:16],
                                "name": name, "input": {}}}))
        w(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
              "delta": {"type": "input_json_delta", "partial_json": json.dumps(args)}}))
        stop = "tool_use"
    else:
        w(sse("content_block_start", {"type": "content_block_start", "index": 0,
              "content_block": {"type": "text", "text": ""}}))
        w(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
              "delta": {"type": "text_delta", "text": "done"}}))
        stop = "end_turn"
    w(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    w(sse("message_delta", {"type": "message_delta",
          "delta": {"stop_reason": stop, "stop_sequence": None},
          "usage": {"output_tokens": 5}}))
    w(sse("message_stop", {"type": "message_stop"}))
