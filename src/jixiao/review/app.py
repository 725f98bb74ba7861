"""The review web app: Starlette and Jinja2 over `Review`, a little plain JavaScript,
no build step. Everything from a document is escaped; every POST carries the CSRF token and
comes from the page's own origin (scheme, host and port), checked before its body is read, and
its body is capped; off loopback every request needs the access token; no request names a
file; a stale edit is refused."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup, escape
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import DroppedForm, InputError, NoSuchForm, StaleEdit, SupersededForm
from ..schema import FIELD_LABELS, FORM_FIELDS, ROW_FIELDS, Form, field_label, format_paths
from ..store.reviews import MAX_ID
from . import Review, confirmable
from .explain import DECL_FUNDS, FUND_COLS, FUND_ROWS, doubts, findings_explained, form_reasons, page_boxes
from .pages import page_png
from .worklist import approve_printed_errors, printed_errors_only, progress

_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("jixiao.review", "web"), autoescape=True,
                                undefined=jinja2.StrictUndefined)
NUMERIC = re.compile(r"^(funds\..*|indicators\.\d+\.(weight|score)|total_weight|total_score|year)$")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")
MAX_BODY = 1_000_000  # bytes; a form of 200 indicator rows posts about 60 kB


def is_loopback(host: str) -> bool:
    """Whether `host` (a name to bind or a client's address) is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(folder: str | Path, reviewer: str = "reviewer", hosts: tuple[str, ...] = LOCAL_HOSTS,
               access_token: str | None = None) -> Starlette:
    """The app over one run's store, answering only requests addressed to `hosts` (a page
    elsewhere that rebinds its name to this machine gets nothing, not even the CSRF token);
    with `access_token` (serving off loopback), only requests that carry it."""
    review = Review(folder, reviewer)
    tag = secrets.token_hex(4)  # cookie names per app: cookies ignore ports, two apps on one host must not clash
    app = Starlette(routes=ROUTES, lifespan=_lifespan, exception_handlers={NoSuchForm: _no_such_form},
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=sorted(set(hosts))),
                                Middleware(_Gate, access_token=access_token, tag=tag)])
    app.state.jixiao = _State(review=review, reviewer=reviewer, csrf=secrets.token_urlsafe(32),
                              csrf_cookie=f"jixiao_csrf_{tag}")
    return app


def _form_of(request: Request) -> tuple[int, Form, str, int, str]:
    """The form the URL names: (id, record, its source text, version, status). NoSuchForm,
    which the app answers with 404, when the store has none."""
    form_id = request.path_params["form_id"]
    return (form_id, *request.app.state.jixiao.review.form(form_id))


async def _no_such_form(request: Request, exc: NoSuchForm) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=404)
    return PlainTextResponse(str(exc), status_code=404)


async def queue(request: Request) -> Response:
    state = request.app.state.jixiao
    review, q = state.review, request.query_params
    items = review.queue(code=q.get("code") or None, document=q.get("document") or None,
                         severity=q.get("severity") or None)
    return _page(state, "queue.html", items=items, facets=review.facets(), filters=dict(q), progress=progress(review),
                 printed=sum(not c.blocked for c in printed_errors_only(review)))


async def form_page(request: Request) -> Response:
    state = request.app.state.jixiao
    review = state.review
    form_id, form, chunk, version, status = _form_of(request)
    return _page(state, "form.html", form_id=form_id, form=form, version=version, status=status,
                 source=highlighted(form, chunk), fields=FORM_FIELDS[form.kind], labels=FIELD_LABELS,
                 fund_rows=FUND_ROWS, fund_cols=FUND_COLS, decl_funds=DECL_FUNDS,
                 row_fields=ROW_FIELDS[form.kind], findings=form.findings,
                 flagged=sorted({p for f in form.findings if f.severity != "info" for p in f.fields}),
                 confirmable=confirmable(form),
                 audit=review.audit(form_id), actions=AUDIT_ACTIONS, field_label=field_label,
                 newer=review.newer_reading(form_id), next_id=review.next_form(form_id),
                 funds=form.funds.model_dump(), pages=review.pages(form_id), boxes=page_boxes(form),
                 doubts=doubts(form), form_reasons=form_reasons(form), explained=findings_explained(form))


# The audit log's actions as the page names them (the store keeps the English word).
AUDIT_ACTIONS = {"edit": "修改 edit", "confirm": "确认 confirm", "save": "保存 save", "approve": "通过 approve",
                 "reject": "退回 reject"}


async def form_post(request: Request) -> Response:
    review = request.app.state.jixiao.review
    try:
        form_id, form, _, _, _ = _form_of(request)
    except DroppedForm as exc:
        return await _dropped_save(request, exc)
    try:
        data = await _checked_form(request)
    except (_Forbidden, _TooLarge) as exc:
        return _refused(exc)
    try:
        version = data.get("version")
        if version is None or not str(version).isdigit():
            raise InputError("缺少版本号 / the form's version is missing: reload the page")
        record = record_from_fields(form, dict(data))
        review.apply(form_id, record, str(data.get("action", "save")), int(version), data.getlist("confirm"))
    except SupersededForm as exc:
        target = f"/forms/{exc.current}" if exc.current else f"/?{urlencode({'document': exc.document})}" \
            if exc.document else "/"
        return _moved(exc, target, "当前版本 the current version")
    except StaleEdit as exc:
        return HTMLResponse(f"<p>{escape(str(exc))}</p><p><a href='/forms/{form_id}'>reload</a></p>",
                            status_code=409)
    except (InputError, ValueError, OverflowError) as exc:
        return HTMLResponse(f"{escape(str(exc))}", status_code=400)
    action = data.get("action")
    target = review.next_form(form_id) if action in ("approve", "reject") else form_id
    return RedirectResponse(f"/forms/{target}" if target else "/", status_code=303)


async def _dropped_save(request: Request, exc: DroppedForm) -> Response:
    """A save from a page open on a form a re-read removed: refused as a stale page's is (409),
    once the request passed the checks every save passes, with a link to its document's queue."""
    try:
        await _checked_form(request)
    except (_Forbidden, _TooLarge) as refused:
        return _refused(refused)
    return _moved(exc, f"/?{urlencode({'document': exc.document})}", "复核队列 the document's queue")


def _moved(exc: StaleEdit | DroppedForm, target: str, where: str) -> HTMLResponse:
    """A save refused because the form is no longer where the page was (409), with a link to where it went."""
    return HTMLResponse(f"<p>{escape(str(exc))}</p><p><a id='current' href='{escape(target)}'>{where}</a></p>",
                        status_code=409)


async def check(request: Request) -> Response:
    """The findings and confidence an edit would have, as the reviewer types (JSON)."""
    state = request.app.state.jixiao
    form_id, form, _, _, _ = _form_of(request)
    try:
        _check_csrf(state, request, request.headers.get("x-csrf-token"))
    except _Forbidden:
        return JSONResponse({"error": "csrf"}, status_code=403)
    try:
        body = json.loads(await _body(request))
        if not isinstance(body, dict):
            raise InputError("需要 JSON 对象 / a JSON object is expected")
        confirm = body.get("confirm", [])  # the page's boxes: one ticked is a string (FormData entries)
        confirm = [confirm] if isinstance(confirm, str) else [str(p) for p in confirm] if isinstance(confirm, list) else []
        checked = state.review.recheck(form_id, record_from_fields(form, body), confirm)
    except _TooLarge:
        return JSONResponse({"error": _TOO_LARGE}, status_code=413)
    except (InputError, ValueError, OverflowError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"confidence": checked.confidence, "findings": [
        f.model_dump() for f in findings_explained(checked)]})


async def page_image(request: Request) -> Response:
    """A page of the form's PDF or scan, by form id and page number (never a file name). A form
    not in the store is answered by page_file's NoSuchForm (an InputError): 404 below."""
    form_id, number = request.path_params["form_id"], request.path_params["page"]
    try:
        folder, path, digest = request.app.state.jixiao.review.page_file(form_id, number)
        # The URL names a form of this store only: another store served later on the same port
        # has another file under it. So the browser asks each time, and the page's content
        # (its file's hash) says whether the copy it holds is still this page.
        headers = {"Cache-Control": "private, no-cache", "ETag": f'"{digest}-{number}"',
                   "X-Content-Type-Options": "nosniff"}
        if headers["ETag"] in (tag.strip().removeprefix("W/") for tag in
                               request.headers.get("if-none-match", "").split(",")):
            return Response(status_code=304, headers=headers)
        # Drawing a page takes a moment (a scan is straightened first): off the event loop,
        # the store's connection left to it.
        png = await run_in_threadpool(page_png, folder, path, digest, number)
    except InputError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    return Response(png, media_type="image/png", headers=headers)


async def printed_errors_page(request: Request) -> Response:
    """The confirm page: the forms an approval of printed errors would approve, and those it leaves."""
    state = request.app.state.jixiao
    candidates = printed_errors_only(state.review)
    return _page(state, "printed.html", ready=[c for c in candidates if not c.blocked],
                 blocked=[c for c in candidates if c.blocked], done=None, left=None)


async def printed_errors_post(request: Request) -> Response:
    """Approve the forms the confirm page listed (each with the version it showed)."""
    state = request.app.state.jixiao
    try:
        data = await _checked_form(request)
    except (_Forbidden, _TooLarge) as exc:
        return _refused(exc)
    chosen = _chosen(data.getlist("form"))
    if chosen is None:
        return HTMLResponse("表单无效 / malformed request", status_code=400)
    done, left = approve_printed_errors(state.review, chosen)
    return _page(state, "printed.html", ready=[], blocked=[], done=done, left=left)


ROUTES = [
    Route("/", queue),
    Route("/forms/{form_id:int}", form_page, methods=["GET"]),
    Route("/forms/{form_id:int}", form_post, methods=["POST"]),
    Route("/api/forms/{form_id:int}/check", check, methods=["POST"]),
    Route("/forms/{form_id:int}/pages/{page:int}", page_image, methods=["GET"]),
    Route("/approve-printed-errors", printed_errors_page, methods=["GET"]),
    Route("/approve-printed-errors", printed_errors_post, methods=["POST"]),
]


@dataclass
class _State:
    """What the module-level handlers need of their app: its store, reviewer and CSRF token."""

    review: Review
    reviewer: str
    csrf: str
    csrf_cookie: str


def _page(state: _State, name: str, **values) -> HTMLResponse:
    response = HTMLResponse(_TEMPLATES.get_template(name).render(csrf=state.csrf, reviewer=state.reviewer, **values))
    # The form's POST is checked against this cookie before its body is read; SameSite=Strict:
    # a page on another site never sends it.
    response.set_cookie(state.csrf_cookie, state.csrf, httponly=True, samesite="strict")
    # Never inside another page's frame: a page on another port of this host is the same
    # site, its frame gets the cookie and the token, and a click it steers onto "approve
    # these forms" would approve them (clickjacking).
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def _check_csrf(state: _State, request: Request, sent: str | None) -> None:
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(origin, request):
        raise _Forbidden()
    if not sent or not hmac.compare_digest(str(sent), state.csrf):
        raise _Forbidden()


async def _checked_form(request: Request):
    """A POSTed form, its CSRF cookie and Origin checked before its body is read (capped), its
    token after. Raises _Forbidden or _TooLarge."""
    state = request.app.state.jixiao
    _check_csrf(state, request, request.cookies.get(state.csrf_cookie))
    data = await _form(request, await _body(request))
    _check_csrf(state, request, data.get("csrf"))
    return data


def _refused(exc: Exception) -> HTMLResponse:
    if isinstance(exc, _TooLarge):
        return HTMLResponse(_TOO_LARGE, status_code=413)
    return HTMLResponse("CSRF 校验失败 / missing or wrong CSRF token", status_code=403)


class _Gate:
    """Before any route: a loopback name in Host from another machine is refused (it is not
    the name it connected to); with an access token, a request needs the token's cookie, or
    `?token=` once, which sets the cookie and redirects to the same page without it."""

    def __init__(self, app, access_token: str | None, tag: str):
        self.app, self.token, self.cookie = app, access_token, f"jixiao_session_{tag}"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        client = request.client.host if request.client else ""
        if is_loopback(request.url.hostname or "") and not is_loopback(client):
            response = PlainTextResponse("此地址只供本机使用 / a loopback Host from another machine", status_code=400)
            return await response(scope, receive, send)
        if self.token is None or _matches(request.cookies.get(self.cookie), self.token):
            return await self.app(scope, receive, send)
        if _matches(request.query_params.get("token"), self.token):
            query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            path = "/" + request.url.path.lstrip("/")  # never `//elsewhere`
            response = RedirectResponse(path + (f"?{query}" if query else ""), status_code=303,
                                        headers={"Referrer-Policy": "no-referrer"})
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
        else:
            response = HTMLResponse("需要访问令牌：请打开 jixiao review 启动时打印的带 ?token= 的网址 / an access token "
                                    "is needed: open the URL with ?token= that `jixiao review` printed when it started",
                                    status_code=403)
        await response(scope, receive, send)


def _matches(sent: str | None, secret: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), secret.encode())


def _same_origin(origin: str, request: Request) -> bool:
    """An Origin header names this server's own origin: scheme, host and port (a page on
    http://127.0.0.1:9999 is not this app on port 8765)."""
    default = {"http": 80, "https": 443}
    try:
        sent = urlsplit(origin)
        theirs = (sent.scheme, sent.hostname, sent.port or default.get(sent.scheme))
    except ValueError:
        return False
    url = request.url
    return theirs == (url.scheme, url.hostname, url.port or default.get(url.scheme))


_TOO_LARGE = f"请求过大 / the request is larger than {MAX_BODY // 1000} kB"


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The request's body, refused past MAX_BODY bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise _TooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _TooLarge()
    return bytes(body)


async def _form(request: Request, body: bytes):
    """The form a body already read holds, parsed by Starlette as usual."""
    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}
    return await Request(request.scope, replay).form()


@contextlib.asynccontextmanager
async def _lifespan(app):
    yield
    app.state.jixiao.review.close()


class _Forbidden(Exception):
    pass


def _chosen(values: list[str]) -> dict[int, int] | None:
    """`id:version` pairs a confirm page posted (None when one is not such a pair)."""
    chosen = {}
    for value in values:
        form_id, _, version = str(value).partition(":")
        if not (form_id.isdigit() and version.isdigit()) or int(form_id) > MAX_ID or int(version) > MAX_ID:
            return None
        chosen[int(form_id)] = int(version)
    return chosen


def record_from_fields(form: Form, fields: dict) -> dict:
    """The FORMAT.md record a page's inputs describe (`funds.total.executed`, `indicators.3.name`,
    `indicators.3._delete`, `indicators.new.name`); fields the page did not send keep their values."""
    record = form.model_dump(mode="json")
    for key, raw in fields.items():
        if key in ("csrf", "action", "version") or key.startswith("indicators."):
            continue
        if key in FORM_FIELDS[form.kind] or key in _fund_paths(form):
            _put(record, key, _value(key, raw))
    rows = []
    for i, row in enumerate(record.get("indicators") or []):
        if fields.get(f"indicators.{i}._delete"):
            continue
        for f in ROW_FIELDS[form.kind]:
            key = f"indicators.{i}.{f}"
            if key in fields:
                row[f] = _value(key, fields[key])
        rows.append(row)
    new = {f: _value(f"indicators.0.{f}", fields.get(f"indicators.new.{f}", "")) for f in ROW_FIELDS[form.kind]}
    if any(v not in (None, "") for v in new.values()):
        rows.append(new)
    record["indicators"] = rows
    return record


def _fund_paths(form: Form) -> set[str]:
    return {path for path in format_paths(form) if path.startswith("funds.")}


def _value(key: str, raw):
    text = str(raw).strip() if raw is not None else ""
    if text in ("", "—", "-", "－", "——"):
        return None  # FORMAT.md: a blank cell, — or - is null
    if NUMERIC.match(key):
        if key == "year":
            if not text.isdigit():
                raise ValueError(f"{key}: 年度应为整数 / the year must be a whole number, not {text!r}")
            return int(text)
        number = float(text.replace(",", "").rstrip("%"))
        if not math.isfinite(number):
            raise ValueError(f"{key}: 不是有效数字 / not a finite number: {text!r}")
        return number
    return text


def _put(record: dict, path: str, value) -> None:
    node, parts = record, path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def highlighted(form: Form, chunk: str) -> Markup:
    """The form's source text, escaped, with each field's and row's span marked."""
    offset = form.source.span.start if form.source else 0
    spans = [(s.start - offset, s.end - offset, path) for path, s in form.field_spans.items()]
    spans += [(row.span.start - offset, row.span.end - offset, f"indicators[{i}]")
              for i, row in enumerate(form.indicators) if getattr(row, "span", None)]
    spans = sorted((s for s in spans if 0 <= s[0] < s[1] <= len(chunk)), key=lambda s: (s[0], -(s[1] - s[0])))
    out, pos = [], 0
    for start, end, path in spans:
        if start < pos:
            continue  # overlapping spans: the first (outer) one is marked
        out.append(escape(chunk[pos:start]))
        out.append(Markup('<mark id="src-{0}" data-path="{0}">{1}</mark>').format(path, chunk[start:end]))
        pos = end
    out.append(escape(chunk[pos:]))
    return Markup("").join(out)


def serve(folder: str | Path, host: str = "127.0.0.1", port: int = 8765, reviewer: str = "reviewer",
          access_token: str | None = None) -> None:
    """Serve the app; off loopback `access_token` is required (any Host name is then answered
    on a wildcard bind: the token, not the name, keeps others out)."""
    import uvicorn

    if not is_loopback(host) and not access_token:
        raise ValueError("serving off loopback needs an access token")
    # The name bound is answered too: `--host 127.0.0.2` (loopback, so no token) prints a URL
    # whose Host is 127.0.0.2, which must not be refused as a foreign name.
    hosts = ("*",) if host in WILDCARD_HOSTS else tuple(dict.fromkeys((*LOCAL_HOSTS, host)))
    uvicorn.run(create_app(folder, reviewer, hosts, access_token), host=host, port=port, log_level="warning",
                access_log=False)
