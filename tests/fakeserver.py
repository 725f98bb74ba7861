"""A scripted OpenAI-compatible server on 127.0.0.1, for tests and benchmarks (test code: it
lives in tests/, not in the package; benchmarks put this directory on sys.path).

It speaks the chat-completions wire format the real `openai` client and `instructor` use
(tool calls in tools mode, JSON content otherwise), answers from a function you give it,
and injects the faults you script: HTTP statuses with headers, hangs, malformed or
schema-breaking bodies, errors that echo the request's Authorization header in their body
or a response header (as some proxies do). It counts and keeps every request.
`DroppingServer` accepts connections and drops them unanswered (an endpoint that is up but
resets), counting them; `SilentServer` accepts them and never answers (hung), or never
accepts them (firewalled); `refused_url()` is an endpoint where nothing listens.
`FallibleModel` wraps an answer function as a model that slips on its first reading of a form
(schema-valid answers with a changed digit, a moved decimal point, a character dropped or
doubled, a 二级 label swapped for its neighbour, a value left out, a row dropped).

It also keeps the OpenAI Batch API's files and batches (`/v1/files`, `/v1/files/{id}/content`,
`/v1/batches` (create, list), `/v1/batches/{id}`): each job follows the next `BatchPlan` scripted with
`server.plan(...)` (in progress for some polls, then completed, failed, expired or
cancelled; some lines answered in the error file), its lines answered as live requests are.
`server.submissions` counts the jobs created."""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    """One scripted reply in place of an answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # a raw body (malformed JSON, a schema-breaking record as text)
    hang: float = 0.0  # seconds to wait before replying (past the client's timeout: a hang)
    content: str | None = None  # a 200 answer whose message content is exactly this
    echo_auth: bool = False  # the error body quotes the request's Authorization header back
    echo_auth_header: str | None = None  # a response header of this name carries it back (as some proxies do)


@dataclass
class BatchPlan:
    """How one batch job goes: `polls` retrievals answer in_progress (counting its lines done
    a step at a time), then it ends `end` (completed, failed, expired, cancelled). `errors`:
    the lines (by number) answered in the error file with a 500 instead; `done`: for an
    expired or cancelled job, the lines that were answered before it ended."""

    polls: int = 0
    end: str = "completed"
    errors: tuple[int, ...] = ()
    done: int = 0


Answer = Callable[[dict], dict]


class FakeOpenAI:
    """`with FakeOpenAI(answer) as server:` then use `server.base_url`."""

    def __init__(self, answer: Answer, model: str = "fake-model", latency: float = 0.0,
                 reject_response_formats: tuple[str, ...] = (), ignore_tools: bool = False):
        self.answer, self.model, self.latency = answer, model, latency
        self.reject_response_formats, self.ignore_tools = reject_response_formats, ignore_tools
        self.script: deque[Fault | None] = deque()
        self.requests: list[dict] = []
        self.request_bytes: list[int] = []
        self.in_flight = self.max_in_flight = 0  # requests being answered now, and at most
        self._lock = threading.RLock()  # a batch job ending answers its lines under it
        self._server: _BackloggedServer | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.plans: deque[BatchPlan] = deque()
        self.batch_lines: list[dict] = []  # every request line of every job, in order
        self.batch_polls = 0
        self.batch_count = 0  # jobs ever created
        self.batch_refusal: Fault | None = None  # the reply to every files and batches call (no batch API here)

    # --- life cycle -------------------------------------------------------------------
    def __enter__(self) -> FakeOpenAI:
        self._server = _BackloggedServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def then(self, *replies: Fault | None) -> FakeOpenAI:
        """Script the next replies in order; None means a normal answer."""
        self.script.extend(replies)
        return self

    def plan(self, *plans: BatchPlan) -> FakeOpenAI:
        """Script the next batch jobs in order; unscripted jobs complete at the first poll."""
        self.plans.extend(plans)
        return self

    @property
    def submissions(self) -> int:
        return len(self.batches)

    @property
    def completions(self) -> int:
        return sum(1 for r in self.requests if "messages" in r)

    # --- one request --------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.script.popleft() if self.script else None

    def _record(self, body: dict, size: int) -> None:
        with self._lock:
            self.requests.append(body)
            self.request_bytes.append(size)

    def reply(self, body: dict, received: float, authorization: str = "") -> tuple[int, dict[str, str], str]:
        """The reply, sent `latency` (plus any scripted hang) after the request arrived: the
        server's own work is part of its latency, as with a remote model."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._next_fault()
            reply = self._reply(body, fault, authorization)
            delay = received + self.latency + (fault.hang if fault else 0.0) - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def _reply(self, body: dict, fault: Fault | None, authorization: str = "") -> tuple[int, dict[str, str], str]:
        if fault and fault.echo_auth_header:
            fault = Fault(**{**fault.__dict__, "headers": {**fault.headers, fault.echo_auth_header: authorization},
                             "echo_auth_header": None})
        if fault and fault.echo_auth:
            message = f"upstream refused the request (scripted {fault.status}); request headers: Authorization: {authorization}"
            return fault.status, fault.headers, json.dumps({"error": {"message": message, "type": "proxy_error"}})
        if fault and fault.status != 200:
            return fault.status, fault.headers, fault.body or json.dumps({"error": {"message": f"scripted {fault.status}"}})
        if fault and fault.body is not None:
            return 200, fault.headers, fault.body
        kind = (body.get("response_format") or {}).get("type")
        if kind in self.reject_response_formats:
            return 500, {}, json.dumps({"error": {"message": f"response_format {kind} is not supported"}})
        if fault and fault.content is not None:
            content = fault.content
        else:
            content = json.dumps(self.answer(body), ensure_ascii=False)
        return 200, {}, json.dumps(self._completion(body, content), ensure_ascii=False)

    def _completion(self, body: dict, content: str) -> dict:
        tools = body.get("tools")
        message: dict = {"role": "assistant", "content": content}
        if tools and not self.ignore_tools:
            name = tools[0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": name, "arguments": content}}]}
        prompt = len(json.dumps(body.get("messages", []), ensure_ascii=False)) // 2
        completion = max(1, len(content) // 2)
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}


class _BackloggedServer(ThreadingHTTPServer):
    # The stdlib's backlog of 5 stalls concurrent clients; set on this class only, not on the
    # stdlib's for the whole process.
    request_queue_size = 256


def _handler(server: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as hosted endpoints and vLLM speak
        disable_nagle_algorithm = True  # else headers and body, written apart, wait on a delayed ACK

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, headers: dict[str, str], text: str) -> None:
            data = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a scripted hang past its timeout)

        def do_GET(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            if path.endswith("/batches"):  # the list, newest first (one page)
                with server._lock:
                    jobs = [json.loads(_public(b)) for b in reversed(server.batches.values())]
                self._send(200, {}, json.dumps({"object": "list", "data": jobs, "has_more": False}, ensure_ascii=False))
            elif "/files/" in path or "/batches/" in path:
                self._send(*_batch_get(server, path))
            elif self.path.rstrip("/").endswith("/models"):
                self._send(200, {}, json.dumps({"object": "list", "data": [{"id": server.model, "object": "model"}]}))
            else:
                self._send(404, {}, json.dumps({"error": {"message": "not found"}}))

        def do_POST(self) -> None:
            received = time.perf_counter()
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if server.batch_refusal and self.path.rstrip("/").endswith(("/files", "/batches")):
                self._send(*server._reply({}, server.batch_refusal, self.headers.get("Authorization", "")))
                return
            if self.path.rstrip("/").endswith("/files"):
                self._send(*_upload(server, raw, self.headers.get("Content-Type", "")))
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self._send(400, {}, json.dumps({"error": {"message": "bad json"}}))
                return
            if self.path.rstrip("/").endswith("/batches"):
                self._send(*_create_batch(server, body))
                return
            server._record(body, len(raw))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {}, json.dumps({"error": {"message": "not found"}}))
                return
            self._send(*server.reply(body, received, self.headers.get("Authorization", "")))

    return Handler


def _upload(server: FakeOpenAI, raw: bytes, content_type: str) -> tuple[int, dict[str, str], str]:
    """POST /v1/files: a multipart form with `purpose` and `file`."""
    form = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
    if "file" not in parts or parts.get("purpose") is None:
        return 400, {}, json.dumps({"error": {"message": "file and purpose are required"}})
    data = parts["file"].get_payload(decode=True)
    with server._lock:
        file_id = f"file-{len(server.files) + 1}"
        server.files[file_id] = data
    return 200, {}, json.dumps({"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                                "filename": parts["file"].get_filename() or "upload.jsonl",
                                "purpose": parts["purpose"].get_content().strip(), "status": "processed"})


def _create_batch(server: FakeOpenAI, body: dict) -> tuple[int, dict[str, str], str]:
    """POST /v1/batches: a job over an uploaded file of request lines."""
    data = server.files.get(body.get("input_file_id", ""))
    if data is None:
        return 404, {}, json.dumps({"error": {"message": "no such file"}})
    lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    with server._lock:
        server.batch_count += 1  # ids never reused, as a provider's are not (even after jobs are deleted)
        batch_id = f"batch_{server.batch_count}"
        server.batch_lines.extend(lines)
        server.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "input_file_id": body["input_file_id"],
            "completion_window": body.get("completion_window"), "status": "validating", "created_at": int(time.time()),
            "output_file_id": None, "error_file_id": None, "errors": None, "metadata": body.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "_plan": server.plans.popleft() if server.plans else BatchPlan(), "_polls": 0, "_lines": lines}
    return 200, {}, _public(server.batches[batch_id])


def _public(batch: dict) -> str:
    return json.dumps({k: v for k, v in batch.items() if not k.startswith("_")}, ensure_ascii=False)


def _batch_get(server: FakeOpenAI, path: str) -> tuple[int, dict[str, str], str]:
    """GET /v1/files/{id}/content, or GET /v1/batches/{id} (a poll: the job moves on)."""
    if path.endswith("/content"):
        file_id = path.split("/")[-2]
        if file_id not in server.files:
            return 404, {}, json.dumps({"error": {"message": "no such file"}})
        return 200, {"Content-Type": "application/jsonl"}, server.files[file_id].decode("utf-8")
    batch = server.batches.get(path.split("/")[-1])
    if batch is None:
        return 404, {}, json.dumps({"error": {"message": "no such batch"}})
    with server._lock:
        server.batch_polls += 1
        if batch["status"] in ("validating", "in_progress"):
            _advance(server, batch)
    return 200, {}, _public(batch)


def _advance(server: FakeOpenAI, batch: dict) -> None:
    plan, lines = batch["_plan"], batch["_lines"]
    batch["_polls"] += 1
    if batch["_polls"] <= plan.polls:
        batch["status"] = "in_progress"
        batch["request_counts"]["completed"] = len(lines) * batch["_polls"] // (plan.polls + 1)
        return
    if plan.end == "failed":
        batch.update(status="failed", errors={"object": "list", "data": [
            {"code": "invalid_request", "message": "scripted failure: the input file was refused", "line": 1}]})
        return
    answered = lines if plan.end == "completed" else lines[:plan.done]
    output, errors = [], []
    for n, line in enumerate(lines):
        if line in answered and n not in plan.errors:
            status, _, text = server._reply(line["body"], server._next_fault())
            body = json.loads(text)
        elif line in answered:
            status, body = 500, {"error": {"message": "scripted server error", "type": "server_error"}}
        else:
            errors.append({"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": None,
                           "error": {"code": f"batch_{plan.end}", "message": f"the job was {plan.end} first"}})
            continue
        entry = {"id": f"batch_req_{n}", "custom_id": line["custom_id"],
                 "response": {"status_code": status, "request_id": f"req_{n}", "body": body}, "error": None}
        (output if status == 200 else errors).append(entry)
    for name, entries in (("output_file_id", output), ("error_file_id", errors)):
        if entries:
            file_id = f"file-{len(server.files) + 1}"
            server.files[file_id] = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode("utf-8")
            batch[name] = file_id
    batch.update(status=plan.end, request_counts={"total": len(lines), "completed": len(output), "failed": len(errors)})


class DroppingServer:
    """`with DroppingServer() as dead:` an endpoint on 127.0.0.1 that accepts each connection
    and closes it at once with a reset, never answering; `dead.accepts` counts them."""

    def __init__(self):
        self.accepts = 0
        self._held: list[socket.socket] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> DroppingServer:
        self._sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            self.accepts += 1
            self._took(conn)

    def _took(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        conn.close()


class SilentServer(DroppingServer):
    """`with SilentServer() as hung:` an endpoint on 127.0.0.1 that accepts each connection and
    never answers (a hung server, or a proxy whose upstream never replies); `hung.accepts`
    counts the connections. With `accepting=False` its accept queue is full and connections
    are never made (a firewall that drops them): the client's connect times out."""

    def __init__(self, accepting: bool = True):
        super().__init__()
        self.accepting = accepting

    def __enter__(self) -> SilentServer:
        if self.accepting:
            return super().__enter__()
        self._sock.listen(0)  # never accepted: fill the queue, then further SYNs are dropped
        for _ in range(3):
            plug = socket.socket()
            plug.setblocking(False)
            plug.connect_ex(self._sock.getsockname())
            self._held.append(plug)
        return self

    def _took(self, conn: socket.socket) -> None:
        self._held.append(conn)  # held open, never read, never answered


def refused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def prompt_text(body: dict) -> str:
    """All the text of a request's messages."""
    parts = []
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)


FORM_TEXT = "Form text / 表格文本:"  # the prompts' mark before the form's own text (after any examples)


def gold_answerer(gold_forms: list[dict], rows_shown_only: bool = False) -> Answer:
    """Answer each request with the gold form whose project name the prompt holds (the
    longest such name), FORMAT.md fields only; a probe gets a probe answer. With
    `rows_shown_only`, only the rows whose name the prompt shows (as a model reading part
    of a long form would). Only the form's own text counts: the examples a prompt shows
    before it (`--examples`) name other projects."""
    def answer(body: dict) -> dict:
        text = prompt_text(body)
        if "JIXIAO-PROBE" in text:
            return {"kind": "probe", "project_name": "测试项目"}
        compact = "".join(text[max(0, text.rfind(FORM_TEXT)):].split())
        matches = [f for f in gold_forms if f.get("project_name") and f["project_name"] in compact]
        if not matches:
            return {}
        form = max(matches, key=lambda f: len(f["project_name"]))
        if rows_shown_only:
            table = compact[compact.find("一级指标"):]
            form = {**form, "indicators": [r for r in form["indicators"] if r.get("name") and r["name"] in table]}
        return form
    return answer


# A 二级 label's neighbours: the labels printed next to it under the same 一级 (taxonomy order).
def _neighbours() -> dict[str, list[str]]:
    from jixiao.taxonomy import LEVEL2

    groups: dict[str, list[str]] = {}
    for label, parents in LEVEL2.items():
        groups.setdefault(parents[0], []).append(label)
    return {label: [g[i] for i in (k - 1, k + 1) if 0 <= i < len(g)]
            for g in groups.values() for k, label in enumerate(g)}


@dataclass(frozen=True)
class Slip:
    form: str  # the project name of the form slipped on
    path: str  # the FORMAT.md path (the row's index in the correct answer)
    kind: str  # digit, decimal, dropped_char, doubled_char, label, left_out, row_dropped, cells_swapped
    before: object
    after: object


class FallibleModel:
    """An answer function (for FakeOpenAI) that reads like a real model: the first request
    for a form is answered with slips, each field slipping at `rate` (a row dropped at `rate`
    too), always schema-valid; any later request for the same form (a re-ask) is answered
    correctly. A form is known by its first user message. Each form's slips come from its own
    RNG seeded by `seed` and the form, so a run's slips do not depend on thread timing.
    `slips` lists what was changed."""

    def __init__(self, answer: Answer, rate: float, seed: int = 0):
        self.answer, self.rate, self.seed = answer, rate, seed
        self.slips: list[Slip] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._labels = _neighbours()

    def __call__(self, body: dict) -> dict:
        correct = self.answer(body)
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        key = prompt_text({"messages": users[:1]})
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
        if not first or not correct.get("indicators") and not correct.get("funds"):
            return correct  # a re-ask, a probe, or nothing to read
        rng = random.Random(f"{self.seed}|{key}")
        slipped, slips = self._slipped(correct, rng)
        with self._lock:
            self.slips += slips
        return slipped

    def _slipped(self, form: dict, rng: random.Random) -> tuple[dict, list[Slip]]:
        form = json.loads(json.dumps(form, ensure_ascii=False))
        name, slips = form.get("project_name") or "", []

        def visit(node: dict, prefix: str) -> None:
            for field_name, value in list(node.items()):
                path = f"{prefix}{field_name}"
                if isinstance(value, dict):
                    visit(value, f"{path}.")
                elif value is not None and not isinstance(value, (list, bool)) and field_name != "kind" \
                        and rng.random() < self.rate:
                    after, kind = self._slip(field_name, value, rng)
                    if after != value:
                        node[field_name] = after
                        slips.append(Slip(name, path, kind, value, after))

        visit(form, "")  # the form's fields and funds (its rows, a list, are slipped below)
        rows, kept = [], []
        for i, row in enumerate(form.get("indicators") or []):
            if rng.random() < self.rate:
                slips.append(Slip(name, f"indicators[{i}]", "row_dropped", row.get("name"), None))
                continue
            visit(row, f"indicators[{i}].")
            rows.append(row)
            kept.append(i)
        form["indicators"] = rows
        # Cells read into each other's place (a weight as the score, a budget as the amount
        # spent): both printed in the row. Drawn from their own RNG, so the slips above stay
        # what they were for a seed.
        swaps = random.Random(f"{self.seed}|{name}|swapped")
        cells = [(f"indicators[{i}].", row) for i, row in zip(kept, rows)]
        cells += [(f"funds.{key}.", row) for key, row in (form.get("funds") or {}).items() if isinstance(row, dict)]
        for prefix, row in cells:
            for a, b in _SWAPPABLE:
                if row.get(a) is not None and row.get(b) is not None and row[a] != row[b] \
                        and swaps.random() < self.rate:
                    row[a], row[b] = row[b], row[a]
                    slips.append(Slip(name, f"{prefix}{a}", "cells_swapped", row[b], row[a]))
        return form, self._valid(form, slips)

    @staticmethod
    def _valid(form: dict, slips: list[Slip]) -> list[Slip]:
        """Undo the slips the schema would refuse (`元元` is no amount unit): a fallible
        model's answers are schema-valid, so only grounding can catch them."""
        from pydantic import ValidationError

        from jixiao.schema import RECORD_BY_KIND

        record = RECORD_BY_KIND[form["kind"]]
        try:
            record.model_validate(form)
            return slips
        except ValidationError as exc:
            refused = {".".join(str(p) for p in e["loc"]) for e in exc.errors()}
        kept = []
        for slip in slips:
            if slip.path in refused and "[" not in slip.path:
                node, *rest = form, *slip.path.split(".")
                for part in rest[:-1]:
                    node = node[part]
                node[rest[-1]] = slip.before
            else:
                kept.append(slip)
        record.model_validate(form)
        return kept

    def _slip(self, field_name: str, value, rng: random.Random) -> tuple[object, str]:
        if field_name == "level2" and self._labels.get(value) and rng.random() < 0.75:
            return rng.choice(self._labels[value]), "label"
        if rng.random() < 0.15:
            return None, "left_out"
        if isinstance(value, (int, float)):
            if rng.random() < 0.3 and value:
                moved = value * 10 if rng.random() < 0.5 else value / 10
                return (int(moved) if isinstance(value, int) and moved == int(moved) else moved), "decimal"
            text = repr(value) if isinstance(value, float) else str(value)
            changed = _digit_changed(text, rng)
            return (type(value)(float(changed)) if isinstance(value, int) else float(changed)), "digit"
        text = str(value)
        if any(c.isdigit() for c in text) and rng.random() < 0.5:
            return _digit_changed(text, rng), "digit"
        i = rng.randrange(len(text))
        if rng.random() < 0.5 and len(text) > 1:
            return text[:i] + text[i + 1:], "dropped_char"
        return text[:i + 1] + text[i:], "doubled_char"


# Cells of a row a model may read into each other's place.
_SWAPPABLE = (("target", "actual"), ("weight", "score"), ("annual_budget", "executed"))


def _digit_changed(text: str, rng: random.Random) -> str:
    places = [i for i, c in enumerate(text) if c.isdigit()]
    if not places:
        return text
    i = rng.choice(places)
    return text[:i] + rng.choice([d for d in "0123456789" if d != text[i]]) + text[i + 1:]
