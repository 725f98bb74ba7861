"""The review app off loopback and at its edges: `jixiao review --host 0.0.0.0` prints a URL
with an access token once and answers nothing without it; a loopback Host name from another
machine is refused, while another loopback address bound (127.0.0.2) answers the URL printed;
an Origin on another port is another origin; a POST's body is read only after its CSRF check,
and a body over the cap is refused (413)."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
from starlette.testclient import TestClient

from conftest import SEEDS, review_app
from jixiao.batch import run_batch
from jixiao.review import Review
from jixiao.review.app import MAX_BODY

LOCAL = "http://127.0.0.1:8765"  # the Host a browser on this machine sends
ME = ("127.0.0.1", 50000)  # the client address it connects from


@pytest.fixture
def store(tmp_path):
    tmp = tmp_path
    shutil.copytree(SEEDS[0].parent, tmp / "docs", ignore=lambda d, names: [n for n in names if not n.endswith(".txt")])
    run_batch([tmp / "docs"], tmp / "out")
    return tmp / "out"


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" content="([^"]+)"', page).group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, method, path, headers=None, body=None, address="127.0.0.1"):
    conn = http.client.HTTPConnection(address, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _started(args: list[str]) -> tuple[subprocess.Popen, str]:
    """`jixiao review …` started, and what it printed up to its URL line."""
    server = subprocess.Popen([sys.executable, "-m", "jixiao", "review", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
    printed = ""
    while "review at" not in printed:
        line = server.stderr.readline()
        assert line, f"the server stopped: {printed}"
        printed += line
    return server, printed


@pytest.mark.slow
def test_off_loopback_every_request_needs_the_token_printed_once(store):
    port = _free_port()
    server, printed = _started([str(store), "--host", "0.0.0.0", "--port", str(port), "--reviewer", "王五"])
    try:
        token = re.search(r"\?token=([\w-]+)", printed)
        assert token, printed
        token = token.group(1)
        for _ in range(400):  # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        # without the token: nothing, not the queue, not the CSRF token
        for path in ("/", "/forms/1", f"/?token={token[:-1]}", "/?token="):
            status, _, body = _request(port, "GET", path)
            assert status == 403 and 'name="csrf"' not in body and "项目名称" not in body, path
        assert _request(port, "POST", "/api/forms/1/check", {"Content-Type": "application/json"}, "{}")[0] == 403
        # the printed URL sets a cookie and leaves the token out of the address
        status, headers, _ = _request(port, "GET", f"/?token={token}&severity=warning")
        assert status == 303 and headers["location"] == "/?severity=warning" and token not in headers["location"]
        cookie = headers["set-cookie"].split(";")[0]
        assert token in cookie and "httponly" in headers["set-cookie"].lower()
        status, _, page = _request(port, "GET", "/", {"Cookie": cookie})
        assert status == 200 and "复核人 reviewer: 王五" in page
        csrf = _csrf(page)
        status, _, body = _request(port, "POST", "/api/forms/1/check",
                                   {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"}, "{}")
        assert status == 200 and "findings" in body
    finally:
        server.terminate()
        out, rest = server.communicate(timeout=30)
    assert (printed + rest + out).count(token) == 1  # printed once, never logged


@pytest.mark.slow
def test_a_loopback_address_other_than_127_0_0_1_answers_the_url_it_prints(store):
    port = _free_port()
    server, printed = _started([str(store), "--host", "127.0.0.2", "--port", str(port)])
    try:
        url = re.search(r"review at (http://\S+)", printed).group(1)
        assert url == f"http://127.0.0.2:{port}/" and "token" not in url  # loopback: no token needed
        for _ in range(400):  # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.2", port)) == 0:
                    break
            time.sleep(0.05)
        status, _, page = _request(port, "GET", "/", address="127.0.0.2")  # Host: 127.0.0.2:port, as a browser sends
        assert status == 200 and 'name="csrf"' in page, page[:200]
        # a name not bound is still refused (DNS rebinding)
        assert _request(port, "GET", "/", {"Host": f"rebound.example:{port}"}, address="127.0.0.2")[0] == 400
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_loopback_host_name_from_another_machine_is_refused(store):
    remote = TestClient(review_app(store, "me"), base_url=LOCAL, client=("192.0.2.7", 40000))
    assert remote.get("/").status_code == 400
    assert TestClient(review_app(store, "me"), base_url=LOCAL, client=ME).get("/").status_code == 200


def test_the_token_in_the_app_itself(store):
    c = TestClient(review_app(store, "me", hosts=("*",), access_token="s3cret"), base_url="http://review.lan:8765",
                   client=("192.0.2.7", 40000), follow_redirects=False)
    assert c.get("/").status_code == 403 and c.get("/?token=nope").status_code == 403
    form_id = Review(store).queue()[0]["id"]
    opened = c.get(f"/forms/{form_id}?token=s3cret")
    assert opened.status_code == 303 and opened.headers["location"] == f"/forms/{form_id}"
    page = c.get(f"/forms/{form_id}")
    assert page.status_code == 200
    saved = c.post(f"/forms/{form_id}", data={"csrf": _csrf(page.text), "version": "0", "action": "save"},
                   headers={"origin": "http://review.lan:8765"})
    assert saved.status_code == 303
    # the redirect that drops the token stays on this server
    answer = {}
    assert asyncio.run(_call(c.app, "GET", "//elsewhere.example/", answer, [], b"token=s3cret"))[0] == 303
    assert answer["location"] == "/elsewhere.example/"


def test_an_origin_on_another_port_is_another_origin(store):
    c = TestClient(review_app(store, "me"), base_url=LOCAL, client=ME, follow_redirects=False)
    form_id = Review(store).queue()[0]["id"]
    token = _csrf(c.get("/").text)
    for origin in ("http://127.0.0.1:9999", "http://127.0.0.1", "https://127.0.0.1:8765", "null"):
        post = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save"},
                      headers={"origin": origin})
        assert post.status_code == 403, origin
        check = c.post(f"/api/forms/{form_id}/check", json={}, headers={"origin": origin, "X-CSRF-Token": token})
        assert check.status_code == 403, origin
    same = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save"},
                  headers={"origin": LOCAL})
    assert same.status_code == 303


async def _call(app, method, path, headers, chunks, query=b""):
    """Drive the ASGI app directly; its status, and how many body chunks it asked for."""
    asked, sent = [], []

    async def receive():
        asked.append(len(asked))
        body = chunks[len(asked) - 1] if len(asked) <= len(chunks) else b""
        return {"type": "http.request", "body": body, "more_body": len(asked) < len(chunks)}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.start":
            headers.update((k.decode(), v.decode()) for k, v in message["headers"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8765"), *((k.encode(), v.encode()) for k, v in headers.items())],
             "client": ME, "server": ("127.0.0.1", 8765)}
    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), len(asked)


def test_a_post_body_is_read_only_after_the_csrf_check(store):
    app = review_app(store, "me")
    form_id = Review(store).queue()[0]["id"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = [b"csrf=whatever&version=0&action=approve"]
    # no CSRF cookie (a page elsewhere posting the form): refused, its body never read
    assert asyncio.run(_call(app, "POST", f"/forms/{form_id}", form, body)) == (403, 0)
    assert asyncio.run(_call(app, "POST", f"/api/forms/{form_id}/check", {"content-type": "application/json"},
                             [b"{}"])) == (403, 0)


@pytest.mark.slow
def test_a_body_over_the_cap_is_refused(store):
    c = TestClient(review_app(store, "me"), base_url=LOCAL, client=ME)
    token = _csrf(c.get("/").text)
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    form_id = Review(store).queue()[0]["id"]
    app = c.app
    form = {"content-type": "application/x-www-form-urlencoded", "cookie": cookie}
    # declared too large: refused before a byte is read
    declared = {**form, "content-length": str(MAX_BODY + 1)}
    assert asyncio.run(_call(app, "POST", f"/forms/{form_id}", declared, [b"x"])) == (413, 0)
    # streamed (no length given): refused once past the cap, the rest never read
    chunks = [f"csrf={token}&version=0&action=save&grade=".encode()] + [b"a" * 65536] * 40
    status, asked = asyncio.run(_call(app, "POST", f"/forms/{form_id}", form, chunks))
    assert status == 413 and asked < len(chunks)
    api = {"content-type": "application/json", "x-csrf-token": token}
    status, asked = asyncio.run(_call(app, "POST", f"/api/forms/{form_id}/check", api, [b'{"grade": "'] + chunks[1:]))
    assert status == 413 and asked < len(chunks)
    # over real HTTP too: a declared 2 MB body gets a clear 413 without being sent
    port = _free_port()
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(review_app(store, "me"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        _, headers, _ = _request(port, "GET", "/")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("POST", f"/forms/{form_id}")
        for k, v in {**form, "cookie": headers["set-cookie"].split(";")[0],
                     "content-length": str(2 * MAX_BODY)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413 and "请求过大" in response.read().decode()
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    # and an ordinary edit still goes through
    assert c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save"},
                  follow_redirects=False).status_code == 303
