"""The `llm` back-end: instructor over the openai client, against any OpenAI-compatible endpoint.

One request per form chunk; the response model is the FORMAT.md record of the chunk's kind.
Owners of retries, one each: transport faults (429 with Retry-After, 5xx, timeouts, lost
connections) → the tenacity policy here, with the openai client's own retries off; answers
that break the schema → instructor's re-ask, bounded; values the source does not bear out →
one targeted re-ask naming those fields (never for a form whose own numbers disagree).
An endpoint that refuses, drops or never answers connections on several requests (or mode
probe rounds) in a row is marked down (EndpointDown, naming the cause): no request is sent to
it until a cool-down has passed."""

from __future__ import annotations

import json
import logging
import threading
from functools import lru_cache
from pathlib import Path

import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from pydantic import BaseModel
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ..check import guarded
from ..config import LLMSettings
from ..cost import price_for
from ..errors import BackendUnavailable, ConfigError, ExtractionFailed
from ..redact import install_redaction
from ..schema import RECORD_BY_KIND, Chunk, Form, Note, Usage, answer_model
from ..prompting import prompt_source, render_prompt
from ..validate import validate
from ..validate.triage import triage
from .base import Backend
from .examples import Example, load_examples, require_examples_block
from .grounding import Grounding, quote, rules_reading
from .hybrid import compared, merge_or_llm
from .split import merge_answers, parts_needed, split_chunk
from .support import Breaker, BudgetSpent, DiskCache, EndpointDown, RateLimiter, TokenBudget, estimated_tokens
from .transport import (RetryWait, describe, is_connection_failure, is_transient, is_unanswered, public_url,
                        unreachable)

log = logging.getLogger("jixiao")
MODES = {"tools": instructor.Mode.TOOLS, "json_schema": instructor.Mode.JSON_SCHEMA, "json": instructor.Mode.JSON,
         "md_json": instructor.Mode.MD_JSON}
PROBE_ORDER = ("tools", "json_schema", "json", "md_json")
# The version of the prompts every request shares, whatever the form's prompt version:
# prompts/system, part, reask_rows, reask_suspects and probe (.v1.md).
MESSAGES = "v1"
# The shared prompts a form's answer may have been asked with after its first request (a long
# form's part note, the two re-asks): their files' text is in the cache key too.
FOLLOW_UPS = ("part", "reask_rows", "reask_suspects")


class _Probe(BaseModel):
    kind: str
    project_name: str


@lru_cache(maxsize=64)
def _wrapped(model: type[BaseModel]) -> type[BaseModel]:
    """The answer model as instructor's response schema, made once: instructor otherwise
    builds a new wrapper class, and its schema, on every request."""
    return instructor.openai_schema(model)


class LLMBackend(Backend):
    """Reads a form chunk with a language model. Thread-safe: forms may be read concurrently."""

    name = "llm"

    def __init__(self, settings: LLMSettings, use_cache: bool = True):
        if not settings.model:
            raise BackendUnavailable("没有设置模型 / no model set: pass --model or set JIXIAO_MODEL")
        if not settings.base_url and not settings.api_key:
            raise BackendUnavailable("没有设置接口 / no endpoint: pass --base-url or set OPENAI_BASE_URL / OPENAI_API_KEY")
        install_redaction(settings.key())  # before any request: an endpoint may echo the key in its errors
        self.settings = settings
        self.model = settings.model
        self.examples = load_examples(settings.examples) if settings.examples else None
        self.prompt_version = settings.prompt_version or ("v2" if self.examples else "v1")
        if self.examples:
            require_examples_block(self.prompt_version)
        self.base_url = settings.base_url or "https://api.openai.com/v1"
        self.openai = openai.OpenAI(base_url=self.base_url, api_key=settings.key(), timeout=settings.timeout,
                                    max_retries=0)
        self.cache = DiskCache(settings.cache_dir) if use_cache and settings.cache_dir else None
        self.limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        # Requests in flight at once, held only while a request is on the wire: preparing a
        # request and checking its answer take no slot, so `concurrency` slots stay busy.
        self.slots = threading.BoundedSemaphore(settings.concurrency)
        self.price = price_for(self.base_url, self.model, settings.prices)
        if settings.max_cost is not None and self.price is None:
            raise ConfigError(f"--max-cost 需要模型 {self.model} 的价格 / --max-cost needs a price for {self.model}: add "
                              f"[prices.\"{self.model}\"] input = …, output = … (per million tokens) to the config file")
        self.budget = TokenBudget(settings.max_tokens_total, settings.max_cost, self.price.currency if self.price else "")
        self.breaker = Breaker(settings.down_after, settings.down_for)
        self._mode_failure: BackendUnavailable | None = None
        self.totals = Usage()
        self._lock = threading.Lock()
        self._mode_lock = threading.Lock()
        self._local = threading.local()
        self._clients: dict[str, instructor.Instructor] = {}
        self._mode: str | None = None if settings.mode == "auto" else settings.mode
        # Answers a provider batch job brought for this run, by cache key: (answer, usage), or
        # the ExtractionFailed that says why there is none (batchjob.py).
        self.given: dict[str, tuple[BaseModel, Usage] | ExtractionFailed] = {}
        if self._mode:
            self._client(self._mode)  # the openai client's first use imports much; pay that now, not mid-batch
        import scipy.optimize  # noqa: F401 - answers' rows are paired with it (grounding): likewise, now

    # --- the interface ------------------------------------------------------------------
    def extract(self, chunk: Chunk) -> Form:
        """The LLM's reading, its values grounded where they sit and compared with the rules
        reader's wherever that one is sure (as hybrid compares them)."""
        faults: list[Note] = []
        rules = rules_reading(chunk, faults)
        form = self.read(chunk, rules)
        form.notes += faults
        if rules is None:
            return form
        return merge_or_llm(chunk, rules, form, keep="llm")

    def read(self, chunk: Chunk, rules: Form | None) -> Form:
        """The LLM's reading of a chunk, each value checked at its place after `rules`, the
        rules reader's checked reading of the same chunk (None if it could not read it):
        misplaced values are re-asked once, quoting their place, and noted if still so."""
        try:
            return self._extract(chunk, rules)
        except ExtractionFailed as exc:
            if exc.usage is not None:
                self._add_totals(exc.usage)  # a failed form's requests were paid for too
            raise

    def _extract(self, chunk: Chunk, rules: Form | None) -> Form:
        record = RECORD_BY_KIND[chunk.kind]
        grounding = Grounding(chunk, rules)
        faults: list[Note] = []  # checks of the answer that failed: the answer stands, to review
        mode = self.mode()
        key, answer_cls, examples = self.key_of(chunk, mode)
        ids = [e.id for e in examples]
        hit = self.cache.get(key) if self.cache else None
        if hit is not None:
            answer, usage = answer_cls.model_validate(hit["answer"]), Usage(cached=True)
        else:
            given = self._given(key)  # read in a provider batch job (batchjob.py)
            if isinstance(given, ExtractionFailed):
                raise given
            seen = len(rules.indicators) if rules is not None else 0
            parts = parts_needed(chunk, seen, self.settings.max_output_tokens)
            if given is not None:
                answer, usage = given
            elif parts > 1:
                answer, usage = self._ask_in_parts(chunk, answer_cls, mode, seen, examples)
            else:
                messages = self._messages(chunk, examples)
                answer, usage = self._ask(answer_cls, messages, mode, chunk)
                answer, usage = self._reask_missing_rows(chunk, answer_cls, messages, answer, usage, mode, seen)
                answer, usage = guarded(faults, "grounding", lambda: self._reask_suspects(
                    chunk, answer_cls, messages, answer, usage, mode, grounding), (answer, usage))
            usage.rows_seen = seen
            if self.cache:
                self.cache.put(key, {"answer": answer.model_dump(mode="json"), "rows_seen": seen})
        self._add_totals(usage)
        form = record.model_validate(answer, from_attributes=True)
        form.model, form.prompt_version, form.usage = self.model, f"extract_{chunk.kind}.{self.prompt_version}", usage
        form.shared_prompt_version = MESSAGES
        form.examples = ids
        if usage.reask_failed:
            form.notes.append(Note(field="form", code="reask_failed", message=usage.reask_failed))
        seen = usage.rows_seen if hit is None else hit.get("rows_seen", 0)
        if seen and len(form.indicators) < seen:
            form.notes.append(Note(field="indicators", code="rows_missing",
                                   message=f"the source's table has {seen} rows; the answer has {len(form.indicators)}"))
        for path, where in guarded(faults, "grounding", lambda: grounding.misplaced(form), {}).items():
            form.notes.append(Note(field=path, code="misplaced", message=f"{where.why}: {quote(where.place)}"))
        for path, why in guarded(faults, "grounding", lambda: grounding.label_doubts(form), {}).items():
            form.notes.append(Note(field=path, code="level_ambiguous", message=why))
        if why := guarded(faults, "grounding", lambda: grounding.unplaced(form), None):
            form.notes.append(Note(field="indicators", code="unplaced", message=why))
        form.notes += faults
        return form

    def _given(self, key: str) -> tuple[BaseModel, Usage] | ExtractionFailed | None:
        """A batch job's answer for this key (or why there is none). It stays for the same form
        in another document of the run (read once in the job): there it costs nothing again."""
        given = self.given.get(key)
        if given is not None:
            self.given[key] = (type(given)(str(given)) if isinstance(given, ExtractionFailed)
                               else (given[0].model_copy(deep=True), Usage()))
        return given

    def key_of(self, chunk: Chunk, mode: str) -> tuple[str, type[BaseModel], list[Example]]:
        """The chunk's cache key (endpoint, model, mode, prompt version, schema, text, the
        prompts' text, the examples' ids), its answer model and the examples chosen for it.
        The prompts' text, not only their version's name: a prompt file edited under the same
        version must be asked again, not answered from what the old text brought."""
        answer_cls = _wrapped(answer_model(RECORD_BY_KIND[chunk.kind]))
        examples = self._examples_for(chunk)
        ids = [e.id for e in examples]
        sent = [message["content"] for message in self._messages(chunk, examples)]  # system and user, as sent
        prompts = DiskCache.key(*sent, *(prompt_source(name, MESSAGES) for name in FOLLOW_UPS))
        key = DiskCache.key(self.base_url, self.model, mode, f"extract_{chunk.kind}.{self.prompt_version}",
                            answer_cls.schema_hash(), chunk.text, prompts, *([ids] if ids else []))
        return key, answer_cls, examples

    def parts_of(self, chunk: Chunk, seen: int, examples: list[Example]) -> list[list[dict]]:
        """The requests that read a chunk whose table has `seen` rows: one, or one per piece of
        a long form (each showing the examples chosen for the whole form)."""
        parts = parts_needed(chunk, seen, self.settings.max_output_tokens)
        if parts <= 1:
            return [self._messages(chunk, examples)]
        pieces = split_chunk(chunk, parts)
        return [[*self._messages(piece, examples),
                 {"role": "user", "content": render_prompt("part", MESSAGES, part=k, parts=len(pieces))}]
                for k, piece in enumerate(pieces, 1)]

    def _ask_in_parts(self, chunk: Chunk, answer_cls, mode: str, seen: int, examples: list[Example]):
        """A long form read piece by piece, so no answer outgrows the model's budget."""
        answers, total = [], Usage()
        for messages in self.parts_of(chunk, seen, examples):
            answer, usage = self._ask(answer_cls, messages, mode, chunk)
            answers.append(answer)
            total = _plus(total, usage)
        return merged(answer_cls, answers, total)

    def _reask_missing_rows(self, chunk, answer_cls, messages, answer, usage: Usage, mode: str, seen: int):
        """One re-ask when the answer holds fewer indicator rows than the source's table."""
        question = _rows_question(messages, answer, seen)
        if question is None:
            return answer, usage
        second, more = self._optional_ask(answer_cls, question, mode, chunk)
        return settled("rows", answer, usage, second, more)

    def follow_up(self, chunk: Chunk, messages: list[dict], answer, rules: Form | None
                  ) -> tuple[str, list[dict], list[str]] | None:
        """The follow-up question an answer calls for, as the live path asks it: for the rows
        missing, else for the values not printed at their place (kind, messages, fields)."""
        question = _rows_question(messages, answer, len(rules.indicators) if rules is not None else 0)
        if question is not None:
            return "rows", question, []
        suspects = self._suspects_question(chunk, messages, answer, Grounding(chunk, rules))
        return ("suspects", *suspects) if suspects else None

    # --- requests -------------------------------------------------------------------------
    def _messages(self, chunk: Chunk, examples: list[Example] | None = None) -> list[dict]:
        """The request for a chunk, with the examples given (by default, those chosen for it)."""
        examples = self._examples_for(chunk) if examples is None else examples
        prompt = render_prompt(f"extract_{chunk.kind}", self.prompt_version, chunk_text=chunk.text, examples=examples)
        return [{"role": "system", "content": render_prompt("system", MESSAGES)}, {"role": "user", "content": prompt}]

    def _examples_for(self, chunk: Chunk) -> list[Example]:
        if self.examples is None:
            return []
        return self.examples.choose(chunk, self.settings.examples_k, self.settings.examples_tokens)

    def _client(self, mode: str) -> instructor.Instructor:
        with self._lock:
            if mode not in self._clients:
                client = instructor.from_openai(self.openai, mode=MODES[mode])
                client.on("completion:kwargs", self._count_request)
                client.on("completion:response", self._answered)
                client.on("completion:error", self._failed)
                self._clients[mode] = client
            return self._clients[mode]

    def _count_request(self, *args, **kwargs) -> None:
        # Fires before every request instructor sends, its re-asks included: the rate limits
        # hold for all of them.
        self._local.requests = getattr(self._local, "requests", 0) + 1
        messages = kwargs.get("messages") or []
        self.slots.acquire()  # a slot first: a request waiting for one has not spent its rate yet
        self._local.slot = True
        self.limiter.acquire(estimated_tokens("".join(str(m.get("content") or "") for m in messages)))

    def _free_slot(self, *args, **kwargs) -> None:
        if getattr(self._local, "slot", False):
            self._local.slot = False
            self.slots.release()

    def _answered(self, *args, **kwargs) -> None:
        self._free_slot()
        self.breaker.succeeded()

    def _failed(self, error: BaseException | None = None, *args, **kwargs) -> None:
        # Every request instructor sends ends here or in _answered: the breaker sees them all.
        # A refused, reset or dropped connection, a connect timeout (firewalled, wrong
        # address) and a read timeout (connected, no answer: hung, or a slow model) count;
        # `down_after` of them in a row with no answer between mark the endpoint down. A 429
        # or 5xx neither counts nor clears the count (a proxy answers so for a dead upstream);
        # any other answer, if bad, shows it up.
        self._free_slot()
        if is_connection_failure(error) or is_unanswered(error):
            self.breaker.failed(self._unreachable(error))
        elif error is not None and not is_transient(error):
            self.breaker.succeeded()

    def _unreachable(self, error: BaseException | str) -> str:
        return unreachable(error, self.base_url, self.settings.down_after, self.settings.down_for,
                           self._timeout(getattr(self._local, "probing", False)) if isinstance(error, BaseException)
                           else None)

    def _timeout(self, probe: bool) -> float:
        return min(self.settings.timeout, 30) if probe else self.settings.timeout

    def _ask(self, answer_cls, messages: list[dict], mode: str, chunk: Chunk | None = None,
             reasks: int | None = None):
        """One answer, with transport faults retried and schema faults re-asked."""
        self._local.requests = 0
        usage = Usage()
        retrying = Retrying(stop=stop_after_attempt(self.settings.transport_retries + 1),
                            retry=retry_if_exception(is_transient), wait=RetryWait(), reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    self.budget.check()
                    self.breaker.check()
                    try:
                        answer, completion = self._client(mode).chat.completions.create_with_completion(
                            model=self.model, response_model=answer_cls, messages=messages,
                            max_retries=self.settings.reasks if reasks is None else reasks,
                            max_tokens=self.settings.max_output_tokens)
                    except InstructorRetryException as exc:
                        self._charge(usage, getattr(exc, "total_usage", None))
                        raise
            self._charge(usage, getattr(answer, "_total_usage", None) or completion.usage)
            return answer, usage
        except BudgetSpent as exc:
            usage.requests = self._local.requests
            raise BudgetSpent(f"{_where(chunk)}{exc}", usage=usage) from None
        except EndpointDown:
            raise
        except Exception as exc:  # the reason reaches the record; the batch goes on
            usage.requests = self._local.requests
            if down := self.breaker.down:  # this form's own failures marked the endpoint down: say that
                raise EndpointDown(down) from None
            raise ExtractionFailed(f"{_where(chunk)}LLM 提取失败 / LLM extraction failed after "
                                   f"{usage.requests} request(s): {self.describe(exc)}", usage=usage) from exc
        finally:
            usage.requests = self._local.requests
            self._free_slot()  # a request cut short by an interrupt never reached instructor's hooks

    def _charge(self, usage: Usage, raw, batch: bool = False) -> None:
        """Adds a response's tokens to the form's usage and to the run's budget (a batch job's at
        the batch price)."""
        if raw is None:
            return
        prompt = getattr(raw, "prompt_tokens", 0) or 0
        completion = getattr(raw, "completion_tokens", 0) or 0
        usage.prompt_tokens += prompt
        usage.completion_tokens += completion
        if batch:
            usage.batch_prompt_tokens += prompt
            usage.batch_completion_tokens += completion
        self.budget.spend(prompt + completion, self.price.cost(prompt, completion, batch) if self.price else 0.0)

    def _reask_suspects(self, chunk, answer_cls, messages, answer, usage: Usage, mode: str, grounding: Grounding):
        """One targeted re-ask for fields the source does not bear out (_suspects_question)."""
        question = self._suspects_question(chunk, messages, answer, grounding)
        if question is None:
            return answer, usage
        second, more = self._optional_ask(answer_cls, question[0], mode, chunk)
        return settled("suspects", answer, usage, second, more, question[1])

    def _suspects_question(self, chunk, messages, answer, grounding: Grounding) -> tuple[list[dict], list[str]] | None:
        """The targeted re-ask, and its fields, for values the source does not bear out: a
        value not printed at its place (a rule it fails, or grounding), a row left out, a value
        unlike the rules reader's where that one is sure. Each is quoted with its place's text.
        A form whose printed numbers disagree among themselves is left alone: a re-ask would
        push the model to falsify them."""
        form = RECORD_BY_KIND[chunk.kind].model_validate(answer, from_attributes=True)
        findings = triage(form, validate(form), None, chunk=chunk.text)
        rules = grounding.rules
        places = {p: quote(grounding.place(form, p) or "") for p in
                  {p for f in findings if f.triage == "extraction_suspect" for p in f.suspect_fields}}
        places |= {p: quote(where.place) for p, where in grounding.misplaced(form).items()
                   # rows fewer than the source's were asked for already (_reask_missing_rows)
                   if p != "indicators" or rules is None or len(form.indicators) >= len(rules.indicators)}
        if rules is not None:
            places |= {p: quote(grounding.place(form, p) or "")
                       for _, p, _, _, equal in compared(rules, form, sure_only=True) if not equal}
        if not places:
            return None
        suspects = sorted(places)
        question = render_prompt("reask_suspects", MESSAGES, suspects=suspects,
                                 places=[(path, places[path]) for path in suspects if places[path]])
        follow_up = [*messages, {"role": "assistant", "content": answer.model_dump_json()},
                     {"role": "user", "content": question}]
        return follow_up, suspects

    def _optional_ask(self, answer_cls, messages, mode: str, chunk: Chunk):
        """A follow-up whose failure leaves the first answer standing: (answer or None, usage)."""
        try:
            return self._ask(answer_cls, messages, mode, chunk)
        except BudgetSpent as exc:
            usage = exc.usage or Usage()
        except ExtractionFailed as exc:
            usage = exc.usage or Usage()
            usage.reask_failed = f"a follow-up question failed; the first answer stands: {exc}"
            return None, usage
        usage.reask_failed = "the token budget ran out before a follow-up question; the first answer stands"
        return None, usage

    def describe(self, exc: BaseException) -> str:
        return describe(exc, self.settings.key())

    def _add_totals(self, usage: Usage) -> None:
        with self._lock:
            self.totals = self.totals.plus(usage.model_copy(update={"forms": 1, "cache_hits": int(usage.cached)}))

    # --- modes --------------------------------------------------------------------------
    def mode(self) -> str:
        """The instructor mode: as set, or (auto) the first that this endpoint answers
        well, probed once (by one thread; the others wait) and remembered on disk. An
        endpoint that cannot be reached is named as such, not as a mode problem; an endpoint
        that answers but in no mode well is probed once a run."""
        with self._mode_lock:
            if self._mode:
                return self._mode
            if self._mode_failure is not None:
                raise self._mode_failure
            remembered = self._remembered_modes().get(f"{self.base_url}|{self.model}")
            if remembered in MODES:
                self._mode = remembered
                return remembered
            self.breaker.check()
            failures: dict[str, BaseException | str] = {}
            for mode in PROBE_ORDER:
                failure = self._probe(mode)
                if failure is None:
                    self._mode = mode
                    self._remember_mode(mode)
                    return mode
                if down := self.breaker.down:
                    raise EndpointDown(down)
                failures[mode] = failure
            url, reasons = public_url(self.base_url), "; ".join(f"{m}: {self._reason(f)}" for m, f in failures.items())
            if all(isinstance(f, BaseException) and is_transient(f) for f in failures.values()):
                # The transport failed, not the modes: not remembered as a mode failure, but the
                # round counts toward the breaker as one failed request, so that a dead endpoint
                # (every probe a 502, say) is not probed in every mode for every form.
                self.breaker.failed(self._unreachable(f"每种模式的试探都在传输层失败 / every mode probe failed "
                                                      f"on the transport ({reasons})"))
                if down := self.breaker.down:
                    raise EndpointDown(down)
                raise BackendUnavailable(f"LLM 端点请求失败 / the LLM endpoint at {url} failed every mode probe on the "
                                         f"transport ({reasons}); run `jixiao doctor`")
            self._mode_failure = BackendUnavailable(
                f"{url} 的模型 {self.model} 在所有模式下都没有返回有效记录 / no instructor mode returns a valid record "
                f"from {self.model} at {url} ({reasons}); run `jixiao doctor`")
            raise self._mode_failure

    def access(self) -> list[tuple[str, bool, str]]:
        """(check, passed, detail) rows: the endpoint reachable, the key accepted, the model
        listed (`jixiao doctor`'s first checks, before it probes the modes)."""
        try:
            models = [m.id for m in self.openai.models.list()]
        except openai.AuthenticationError as exc:
            return [("reachable", True, self.base_url), ("key", False, self.describe(exc))]
        except openai.APIConnectionError as exc:
            return [("reachable", False, self.describe(exc))]
        except openai.APIError as exc:  # some servers do not list models; the modes still tell
            return [("reachable", True, self.base_url), ("key", True, "not checked"),
                    ("model listed", False, self.describe(exc))]
        listed = self.model in models
        return [("reachable", True, self.base_url), ("key", True, "accepted"),
                ("model listed", listed, "" if listed else f"not in {', '.join(models[:8])}")]

    def probe(self, mode: str) -> bool | str:
        """True if a tiny structured request works in this mode, else the reason it did not."""
        failure = self._probe(mode)
        return True if failure is None else self._reason(failure)

    def _probe(self, mode: str) -> BaseException | str | None:
        """None if a tiny structured request works in this mode, else what went wrong."""
        if down := self.breaker.down:
            return down
        self._local.probing = True
        try:
            answer = self._client(mode).chat.completions.create(
                model=self.model, response_model=_Probe, max_retries=0, timeout=self._timeout(probe=True),
                messages=[{"role": "user", "content": render_prompt("probe", MESSAGES)}])
        except Exception as exc:  # any failure means "not this mode"
            return exc
        finally:
            self._local.probing = False
            self._free_slot()
        return None if answer.project_name == "测试项目" else f"unexpected answer {answer!r}"

    def _reason(self, failure: BaseException | str) -> str:
        return failure if isinstance(failure, str) else self.describe(failure)

    def _modes_file(self) -> Path | None:
        return self.settings.cache_dir / "modes.json" if self.settings.cache_dir else None

    def _remembered_modes(self) -> dict:
        path = self._modes_file()
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else {}
        except (json.JSONDecodeError, OSError):
            return {}

    def _remember_mode(self, mode: str) -> None:
        path = self._modes_file()
        if path is None:
            return
        modes = {**self._remembered_modes(), f"{self.base_url}|{self.model}": mode}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(modes, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # remembering is a saving, not a need
            log.warning("cannot remember the mode in %s: %s", path, exc)


def _plus(a: Usage, b: Usage) -> Usage:
    return a.plus(b).model_copy(update={"reask_failed": a.reask_failed or b.reask_failed})


def merged(answer_cls, answers: list, usage: Usage):
    """The pieces of a long form as one answer."""
    usage.parts = len(answers)
    return answer_cls.model_validate(merge_answers([a.model_dump() for a in answers])), usage


def _rows_question(messages: list[dict], answer, seen: int) -> list[dict] | None:
    """The re-ask for an answer holding fewer indicator rows than the source's table."""
    if not seen or len(answer.indicators) >= seen:
        return None
    return [*messages, {"role": "assistant", "content": answer.model_dump_json()},
            {"role": "user", "content": render_prompt("reask_rows", MESSAGES, seen=seen, returned=len(answer.indicators))}]


def settled(kind: str, answer, usage: Usage, second, more: Usage, suspects: list[str] = ()):
    """The answer a follow-up question leaves (`second` None when it failed), and the usage of
    both: for missing rows the answer with more rows; for suspect values (or a first answer
    that was none) the second."""
    total = _plus(usage, more)
    if kind == "rows":
        return (second if second is not None and len(second.indicators) > len(answer.indicators) else answer), total
    total.reasked = list(suspects)
    return (second if second is not None else answer), total


def _where(chunk: Chunk | None) -> str:
    return f"{chunk.document} 第{chunk.index + 1}张表 / form {chunk.index + 1}: " if chunk else ""
