"""Provider batch jobs: a run's forms sent as one job in the OpenAI Batch API format (a JSONL
file of chat-completions requests uploaded with purpose `batch`, `POST /v1/batches`, a 24h
window), polled with backoff, its output and error files downloaded. DashScope's compatible
mode takes the same calls.

Each request line is built by instructor's own `handle_response_model` for the run's mode, and
each answer parsed by instructor's `process_response`, exactly as a live request's is; the
answers then meet the same checks as live ones (rows missing, values the source does not bear
out), and those that fail them, or fail the schema, get the same follow-up question in a
second round: another batch job, or live requests (`followup="live"`). (`instructor.batch`
is not used: its BatchProcessor makes its own `OpenAI()` client from the environment, so it
would ignore the run's endpoint, key handling and timeouts, and prints to stdout; its request
lines are json_schema-strict only, which OpenAI refuses for our records' optional fields; and
its results parser reads message content only, not tool calls.)

A job is recorded in the store the moment it is submitted and its answers the moment they are
downloaded: a killed run polls the job it already submitted, never submitting its forms
twice, and answers paid for are never asked for again. A job that fails, expires or is
cancelled is reported by name with what to do; the answers it did return are kept."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

import openai

from instructor.processing.response import handle_reask_kwargs, handle_response_model, process_response
from openai.types.chat import ChatCompletion
from tenacity import Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_exponential

from ..errors import BackendUnavailable, ExtractionFailed
from ..schema import Chunk, Form, Usage
from ..store import Store
from .grounding import rules_reading
from .openai_compat import MODES, LLMBackend, merged, settled
from .support import BudgetSpent, estimated_tokens
from .transport import is_transient, public_url

log = logging.getLogger("jixiao")
ENDPOINT = "/v1/chat/completions"
RUNNING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
POLL = 10.0  # seconds before the first poll; backoff doubles it up to 30 times that
POLL_ENV = "JIXIAO_BATCH_POLL"  # another first interval (tests make it short)
SUBMITTING = "submitting:"  # a job's id in the store until the provider's is known
TOKEN = "jixiao_submission"  # the metadata key carrying a submission's token
REQUESTS = "jixiao_requests"  # the metadata key carrying a hash of the endpoint and the request lines
LOST = "not_found"  # a job's status in the store once the provider no longer knows it
WINDOW = 26 * 3600.0  # a job still running past its 24h window and a margin: stop polling
Progress = Callable[[str, str, int, int], None]  # (job id, status, requests done, requests in all)


def _poll_interval() -> float:
    try:
        return max(float(os.environ.get(POLL_ENV, POLL)), 0.001)
    except ValueError:
        return POLL


@dataclass
class _Ask:
    """One request line: a whole form (part 0), a piece of a long one, or a follow-up."""

    custom_id: str
    key: str
    messages: list[dict]


@dataclass
class _Form:
    chunk: Chunk
    answer_cls: type
    rules: Form | None  # the rules reader's checked reading: rows to expect, places to ground values at
    asks: list[_Ask] = field(default_factory=list)


class JobEnded(ExtractionFailed):
    """A batch job failed, expired or was cancelled before answering this request."""


class BatchReader:
    """Reads a run's forms in provider batch jobs and hands each answer (or why there is none)
    to the LLM back-end, which builds the form from it as from a live answer."""

    def __init__(self, llm: LLMBackend, store: Store, followup: str = "batch", progress: Progress | None = None):
        self.llm, self.store, self.followup, self.progress = llm, store, followup, progress
        self.endpoint = public_url(llm.base_url)  # as the store keeps it: a user:password@ in the URL is no part
        self.messages: list[str] = []  # what to tell the user (bilingual), jobs that ended badly
        self.jobs: list[str] = []  # the jobs this run submitted or polled
        self._ended: dict[str, str] = {}  # job id → its final status
        self._classes: dict[str, type] = {}  # cache key → answer model
        # The requests of jobs that failed, expired or were cancelled in this run: not sent again
        # by it (the user is told; a run with --retry-failed sends them).
        self._given_up: set[str] = set()

    # --- the flow ---------------------------------------------------------------------------
    def read(self, chunks: Iterable[Chunk]) -> None:
        """Each form's answer (or why there is none) in `llm.given`. An endpoint that refuses the
        files or batches calls stops the run by name, its key never shown: reading on live would
        pay full price unasked."""
        try:
            self._read(chunks)
        except openai.APIError as exc:
            raise BackendUnavailable(
                f"批量任务接口出错，本次未读取任何表 / the batch API at {self.endpoint} failed, no form was "
                f"read: {self.llm.describe(exc)}. 请确认该服务商和模型支持批量任务（/v1/files、/v1/batches）及密钥有效，或去掉 "
                "--batch-api 实时读取 / check that the provider and model take batch jobs and that the key is valid, or "
                "run without --batch-api to read the forms live") from None

    def _read(self, chunks: Iterable[Chunk]) -> None:
        mode = self.llm.mode()
        forms: dict[str, _Form] = {}
        for chunk in chunks:
            key, answer_cls, examples = self.llm.key_of(chunk, mode)
            if key in forms or (self.llm.cache and self.llm.cache.get(key) is not None):
                continue  # read before (the cache answers it): no request
            rules = rules_reading(chunk, [])  # a crash is noted when the form's answer is taken (extract)
            parts = self.llm.parts_of(chunk, len(rules.indicators) if rules is not None else 0, examples)
            self._classes[key] = answer_cls
            forms[key] = _Form(chunk, answer_cls, rules, [_Ask(f"{key[:40]}-{k}", key, m) for k, m in enumerate(parts)])
        if not forms:
            return
        lines = self._answers(1, [a for f in forms.values() for a in f.asks], mode)
        questions: dict[str, tuple[str, list[dict], list[str], object, Usage]] = {}
        for key, form in forms.items():
            if key in self.llm.given:  # left out by the budget: it says so
                continue
            try:
                answer, usage, question = self._first(form, lines, mode)
            except ExtractionFailed as exc:
                self.llm.given[key] = exc
                continue
            if question is None:
                self.llm.given[key] = (answer, usage)
            else:
                questions[key] = (*question, answer, usage)
        self._follow_up(forms, questions, mode)

    def _first(self, form: _Form, lines: dict[str, dict], mode: str):
        """The first round's answer to a form, its usage, and the follow-up question it calls
        for (None): a schema fault gets instructor's re-ask, a whole form the checks' question."""
        answers, usage = [], Usage()
        for ask in form.asks:
            answer, error = self._parsed(lines.get(ask.custom_id), form.answer_cls, mode, usage)
            if error is not None:
                if isinstance(error, JobEnded) or len(form.asks) > 1:
                    self._unusable([ask.custom_id] if isinstance(error, _SchemaFault) else [])
                    raise ExtractionFailed(f"{_where(form.chunk)}{error}", usage=usage)
                if isinstance(error, _SchemaFault):
                    reask = handle_reask_kwargs({"messages": copy.deepcopy(ask.messages)}, MODES[mode],
                                                error.completion, error.cause)
                    return None, usage, ("schema", reask["messages"], [])
                return None, usage, ("again", ask.messages, [])  # the provider's error: the same question again
            answers.append(answer)
        if len(answers) > 1:
            return (*merged(form.answer_cls, answers, usage), None)
        return answers[0], usage, self.llm.follow_up(form.chunk, form.asks[0].messages, answers[0], form.rules)

    def _follow_up(self, forms: dict[str, _Form], questions: dict, mode: str) -> None:
        """The second round: each question asked once, in a batch job or live; the answer it
        leaves is settled as the live path settles it."""
        if not questions:
            return
        if self.followup == "live":
            for key, (kind, messages, fields, first, usage) in questions.items():
                second, more = self.llm._optional_ask(forms[key].answer_cls, messages, mode, forms[key].chunk)
                self._settle(key, forms[key], kind, first, usage, second, more, fields)
            return
        asks = [_Ask(_followup_id(key), key, q[1]) for key, q in questions.items()]
        lines = self._answers(2, asks, mode)
        for ask in asks:
            kind, _, fields, first, usage = questions[ask.key]
            more = Usage()
            second, error = self._parsed(lines.get(ask.custom_id), forms[ask.key].answer_cls, mode, more)
            if error is not None:
                more.reask_failed = f"a follow-up question in a batch job failed; the first answer stands: {error}"
            self._settle(ask.key, forms[ask.key], kind, first, usage, second, more, fields)

    def _settle(self, key, form: _Form, kind, first, usage, second, more, fields) -> None:
        # A first answer that broke the schema, or an error, leaves only the second.
        answer, total = settled(kind if first is not None else "again", first, usage, second, more, fields)
        if answer is None:  # neither answer usable: --retry-failed must ask both questions afresh
            self._unusable([a.custom_id for a in form.asks] + [_followup_id(key)])
        self.llm.given[key] = (answer, total) if answer is not None else ExtractionFailed(
            f"{_where(form.chunk)}LLM 提取失败 / LLM extraction failed in a batch job and in its follow-up: "
            f"{more.reask_failed or 'no answer'}", usage=total)

    def _unusable(self, custom_ids: list[str]) -> None:
        """Answers kept in the store that gave the form nothing (they broke the schema): dropped,
        so that a later run asks again instead of failing on them for ever."""
        if custom_ids:
            self.store.batch_drop_answers(self.endpoint, self.llm.model, custom_ids)

    # --- one round: lines answered, from the store, an open job, or a new one ----------------
    def _answers(self, round: int, asks: list[_Ask], mode: str) -> dict[str, dict]:
        """Each ask's result line, by custom id: collected before (a killed run's), from the job
        an earlier run submitted and this one polls, or from a job submitted now."""
        endpoint, model = self.endpoint, self.llm.model
        wanted = {a.custom_id for a in asks}
        for job_id, ids in self.store.open_batch_jobs(round, endpoint, model):
            if job_id.startswith(SUBMITTING):
                job_id = self._adopted(job_id)
            if job_id and wanted & set(ids):
                self._wait_and_collect(job_id)
        stored = {cid: json.loads(line) for cid, line in self.store.batch_answers(round, endpoint, model).items()
                  if cid in wanted}
        lines = {cid: line for cid, line in stored.items() if _ok(line) or cid in self._given_up}
        todo = self._affordable([a for a in asks if a.custom_id not in lines and a.custom_id not in self._given_up], mode)
        if todo:
            job_id = self._submit(round, todo)
            self._wait_and_collect(job_id)
            sent = {line["custom_id"] for line in todo}
            lines.update({cid: json.loads(line) for cid, line in
                          self.store.batch_answers(round, endpoint, model).items() if cid in sent})
        return lines

    def _affordable(self, asks: list[_Ask], mode: str) -> list[dict]:
        """The request lines (`_line`) of the asks the budgets leave room for, each at its worst:
        its whole request's estimated tokens (the schema instructor sends is prompt too) and an
        answer of --max-output-tokens.
        A job cannot be stopped half way and its answers' tokens are known only when it ends, so
        only that keeps it within --max-cost / --max-tokens-total. The others are not sent, and
        say why."""
        budget, price = self.llm.budget, self.llm.price
        try:
            budget.check()
        except BudgetSpent as exc:
            return self._left_out(asks, str(exc))
        kept, tokens, cost, answer = [], budget.used, budget.cost, self.llm.settings.max_output_tokens
        for ask in asks:
            line = self._line(ask, mode)  # built once: the job's file sends these very lines
            prompt = estimated_tokens(json.dumps(line["body"], ensure_ascii=False))
            tokens += prompt + answer
            cost += price.cost(prompt, answer, batch=True) if price else 0.0
            if (budget.limit is not None and tokens > budget.limit) or \
                    (budget.cost_limit is not None and cost > budget.cost_limit):
                return kept + self._left_out(asks[len(kept):], "the budget (--max-tokens-total / --max-cost) could be passed "
                                                               "by this request (its prompt and a full answer); not sent")
            kept.append(line)
        return kept

    def _left_out(self, asks: list[_Ask], why: str) -> list[dict]:
        for ask in asks:
            self.llm.given.setdefault(ask.key, BudgetSpent(f"{why} / 预算不足，未发送", usage=Usage()))
        return []

    def _submit(self, round: int, lines: list[dict]) -> str:
        """A new job for these request `lines`. It is recorded as being submitted, under a token
        its metadata carries, before it is created: a run killed between the provider creating it
        and the store learning its id finds it again by that token instead of submitting twice."""
        client = self.llm.openai
        token = uuid.uuid4().hex
        self.store.batch_submitted(f"{SUBMITTING}{token}", round, self.endpoint, self.llm.model,
                                   [line["custom_id"] for line in lines], status="submitting")
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        requests = hashlib.sha256(f"{self.llm.base_url}\n".encode() + data).hexdigest()[:32]
        try:
            upload = _retrying(lambda: client.files.create(file=("jixiao-batch.jsonl", data), purpose="batch"))
            job = self._create(upload.id, round, token, requests)
        except openai.APIStatusError as exc:
            if not is_transient(exc):  # refused: no job was created, nothing to find again
                self.store.batch_forget(f"{SUBMITTING}{token}")
            raise
        self.store.batch_created(f"{SUBMITTING}{token}", job.id)
        log.info("batch job %s submitted: %d requests", job.id, len(lines))
        return job.id

    def _create(self, file_id: str, round: int, token: str, requests: str):
        """The job, created once: a transport fault on creating it may have created it all the
        same, so each try first looks for a job carrying the token. A job another run submitted
        with these very requests (to another output folder, or at the same time), still running
        or answered, is polled instead of paying for them twice."""
        client = self.llm.openai
        return _retrying(lambda: self._found(token, requests) or client.batches.create(
            input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h",
            metadata={"tool": "jixiao", "round": str(round), TOKEN: token, REQUESTS: requests}))

    def _found(self, token: str, requests: str | None = None):
        """The provider's job whose metadata carries the token, else (given `requests`) one of
        the same requests that is running or answered within its window and that this store
        does not hold yet; or None (newest jobs first; a few hundred looked at: a killed run is
        re-run soon, or its job has long expired)."""
        twin = None
        for n, job in enumerate(self.llm.openai.batches.list(limit=100)):
            meta = job.metadata or {}
            if meta.get(TOKEN) == token:
                return job
            if twin is None and requests and meta.get(REQUESTS) == requests and self._usable(job):
                twin = job
            if n >= 500:
                break
        if twin is not None:
            self.messages.append(
                f"批量任务 {twin.id} 已含完全相同的请求（另一次运行提交，可能写入另一个输出文件夹），本次直接取其结果，未重复提交 / "
                f"batch job {twin.id} already holds these very requests (another run submitted it, perhaps to another "
                "output folder): its answers are used, nothing was submitted twice")
        return twin

    def _usable(self, job) -> bool:
        """A job whose answers are coming or came, within its window, and not yet this store's."""
        return (job.status in RUNNING - {"cancelling"} or job.status == "completed") and \
            time.time() - (job.created_at or 0) < WINDOW and not self.store.batch_ids(job.id)

    def _adopted(self, pending: str) -> str | None:
        """A job recorded as being submitted when its run was killed: its id if the provider
        has it (now recorded), else None (never created: the record is dropped)."""
        job = _retrying(lambda: self._found(pending[len(SUBMITTING):]))
        if job is None:
            self.store.batch_forget(pending)
            return None
        self.store.batch_created(pending, job.id)
        return job.id

    def _line(self, ask: _Ask, mode: str) -> dict:
        """A request line as instructor would send it live in this mode (tools, json_schema, …)."""
        # A copy: some modes' handlers add their instructions to the messages in place.
        _, body = handle_response_model(self._classes[ask.key], mode=MODES[mode], model=self.llm.model,
                                        messages=copy.deepcopy(ask.messages),
                                        max_tokens=self.llm.settings.max_output_tokens)
        return {"custom_id": ask.custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    def _wait_and_collect(self, job_id: str) -> None:
        client = self.llm.openai
        first = _poll_interval()
        poll = Retrying(retry=retry_if_result(lambda b: b.status in RUNNING) | retry_if_exception(is_transient),
                        wait=wait_exponential(multiplier=first, min=first, max=first * 30), stop=stop_after_delay(WINDOW),
                        reraise=True)
        self.jobs.append(job_id)
        lines: dict[str, str] = {}
        try:
            job = poll(self._status, client, job_id)
            for file_id in (job.output_file_id, job.error_file_id):
                if file_id:
                    text = _retrying(lambda: client.files.content(file_id).text)
                    for raw in text.splitlines():
                        if raw.strip():
                            entry = json.loads(raw)
                            lines[entry["custom_id"]] = raw
        except openai.NotFoundError:
            # Deleted at the provider, or the key now belongs to another project: recorded as
            # lost (a re-run must not trip on it for ever) and named; its requests are not sent
            # again unasked, since the job may still be running where the key cannot see it.
            job = SimpleNamespace(id=job_id, status=LOST)
        self.store.batch_collected(job_id, job.status, lines)
        if job.status != "completed":
            ids = self.store.batch_ids(job_id)
            self._given_up |= set(ids)
            self.messages.append(_ended(job, sum(_ok(json.loads(line)) for line in lines.values()), len(ids)))
        self._ended[job_id] = job.status

    def _status(self, client, job_id: str):
        job = client.batches.retrieve(job_id)
        self.store.batch_status(job_id, job.status)
        counts = job.request_counts
        if self.progress:
            self.progress(job_id, job.status, (counts.completed + counts.failed) if counts else 0,
                          counts.total if counts else 0)
        return job

    # --- one answer ------------------------------------------------------------------------
    def _parsed(self, line: dict | None, answer_cls: type, mode: str, usage: Usage):
        """(answer, None), or (None, the error): an answer parsed by instructor as a live one is,
        its tokens charged at the batch price."""
        if line is None:
            return None, JobEnded("批量任务没有返回此请求的结果 / the batch job returned no answer to this request "
                                  f"({', '.join(self._ended_names()) or 'not sent'}): run the same command with --retry-failed to send it")
        response = line.get("response") or {}
        usage.requests += bool(response)  # a line the job never ran (expired, cancelled) was no request
        if response.get("status_code") != 200:
            error = line.get("error") or (response.get("body") or {}).get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            if code in ("batch_expired", "batch_cancelled"):
                return None, JobEnded(f"批量任务在回答此请求前结束 / the batch job ended before answering this "
                                      f"request ({code}): run the same command with --retry-failed to send it")
            return None, ExtractionFailed(f"批量任务中的请求失败 / the request failed in the batch job: "
                                          f"{response.get('status_code')} {message}")
        completion = ChatCompletion.model_validate(response["body"])
        self.llm._charge(usage, completion.usage, batch=True)
        try:
            return process_response(completion, response_model=answer_cls, stream=False, mode=MODES[mode]), None
        except Exception as exc:  # the schema broken, as instructor would re-ask it live
            return None, _SchemaFault(f"the answer broke the schema: {str(exc).splitlines()[0][:200]}", completion, exc)

    def _ended_names(self) -> list[str]:
        return [f"{job} {status}" for job, status in self._ended.items() if status != "completed"]


class _SchemaFault(ExtractionFailed):
    """An answer instructor could not parse into the record: re-asked as instructor would."""

    def __init__(self, message: str, completion: ChatCompletion, cause: Exception):
        super().__init__(message)
        self.completion, self.cause = completion, cause


def _followup_id(key: str) -> str:
    return f"{key[:40]}-f"


def _ok(line: dict) -> bool:
    return (line.get("response") or {}).get("status_code") == 200


def _retrying(call):
    """A call to the files or batches API, its transport faults retried with backoff."""
    from .transport import RetryWait
    return Retrying(retry=retry_if_exception(is_transient), wait=RetryWait(), stop=stop_after_delay(600),
                    reraise=True)(call)


def _where(chunk: Chunk) -> str:
    return f"{chunk.document} 第{chunk.index + 1}张表 / form {chunk.index + 1}: "


def _ended(job, answered: int, total: int) -> str:
    """A job that did not complete, by name, with what to do (bilingual)."""
    got = f"{answered}/{total}"
    if job.status == "expired":
        return (f"批量任务 {job.id} 已过期：服务商未在 24 小时内完成，已取回 {got} 个结果并保存；加 --retry-failed 再次运行同一命令即可把其余请求"
                f"作为新任务提交（或去掉 --batch-api 直接读取）/ batch job {job.id} expired: the provider did not finish it "
                f"within its 24h window; {got} results came back and are kept. Run the same command again with "
                "--retry-failed to send the rest as a new job (or without --batch-api to read them live)")
    if job.status == LOST:
        return (f"批量任务 {job.id} 在服务商处找不到（已被删除，或当前 API 密钥属于另一个项目/账号），其中 {total} 个请求本次未重新提交；"
                f"确认该任务不会再完成后，加 --retry-failed 再次运行同一命令即可作为新任务提交 / batch job {job.id} is not known "
                f"to the provider (deleted, or the API key now belongs to another project or account): its {total} requests "
                "were not sent again. Once sure it will not finish, run the same command again with --retry-failed to "
                "send them as a new job")
    if job.status == "cancelled":
        return (f"批量任务 {job.id} 已被取消，已取回 {got} 个结果并保存；加 --retry-failed 再次运行同一命令即可提交其余请求 / batch "
                f"job {job.id} was cancelled; {got} results came back and are kept. Run the same command again with "
                "--retry-failed to send the rest")
    errors = "; ".join(f"{e.code}: {e.message}" for e in (job.errors.data or [])) if job.errors else ""
    return (f"批量任务 {job.id} 失败（{job.status}）：{errors or '服务商未说明原因'}；请检查模型是否支持批量任务、请求文件是否被拒，"
            f"然后加 --retry-failed 再次运行，或去掉 --batch-api 直接读取 / batch job {job.id} "
            f"{job.status}: {errors or 'no reason given'}. Check that the model takes batch jobs and why the provider "
            "refused the file, then run again with --retry-failed, or without --batch-api to read the forms live")
