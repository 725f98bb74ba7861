"""Settings from the environment, an optional config file, and flags; the key is never shown.

Precedence: flags, then environment (OPENAI_API_KEY, OPENAI_BASE_URL, JIXIAO_MODEL,
JIXIAO_MODE), then the config file (`./jixiao.toml`, else `~/.config/jixiao/config.toml`,
or the file named by JIXIAO_CONFIG), then defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError

from .errors import ConfigError
from .redact import install_redaction

Mode = Literal["auto", "tools", "json_schema", "json", "md_json"]
_ENV = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL", "model": "JIXIAO_MODEL", "mode": "JIXIAO_MODE"}


class LLMSettings(BaseModel):
    """How to reach an OpenAI-compatible endpoint and how hard to try."""

    base_url: str | None = None
    api_key: SecretStr | None = Field(None, repr=False)
    model: str | None = None
    mode: Mode = "auto"
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    transport_retries: int = Field(4, ge=0, description="retries of 429, 5xx, timeouts, lost connections")
    reasks: int = Field(2, ge=0, description="instructor re-asks after an answer that breaks the schema")
    concurrency: int = Field(4, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    max_tokens_total: int | None = Field(None, gt=0, description="stop new requests once this many are used")
    max_cost: float | None = Field(None, gt=0, description="stop new requests once the estimated cost reaches this "
                                                         "(in the price's currency)")
    prices: dict[str, dict] = Field(default_factory=dict, description="the config file's [prices]: per model, or "
                                                                      "provider/model, input and output per million tokens")
    max_output_tokens: int = Field(8192, gt=0, description="the model's output budget for one answer")
    down_after: int = Field(3, ge=1, description="requests in a row that get no answer (connection refused, "
                                                "reset or timed out; a round of mode probes counts once) before the "
                                                "endpoint is marked down")
    down_for: float = Field(300.0, gt=0, description="seconds an endpoint marked down gets no request")
    cache_dir: Path | None = Field(default_factory=lambda: Path(os.environ.get("JIXIAO_CACHE", Path.home() / ".cache" / "jixiao")))
    prompt_version: str | None = Field(None, description="the prompt files' version; default v1, or v2 with examples")
    examples: Path | None = Field(None, description="a folder of gold files from `jixiao review export-gold`: "
                                                    "forms a reviewer approved, shown to the model as examples")
    examples_k: int = Field(3, ge=1, description="at most this many examples in one prompt")
    examples_tokens: int = Field(8000, ge=1, description="at most this many (estimated) tokens of examples in one prompt")

    @property
    def configured(self) -> bool:
        """An endpoint is configured when a base URL or a key and a model are set."""
        return bool(self.model and (self.base_url or self.api_key))

    def share(self, parts: int) -> LLMSettings:
        """One of `parts` worker processes' part of the run's limits: requests in flight,
        requests and tokens per minute and the token and cost budgets, each divided evenly (in flight
        rounded down, at least one), so that together the workers keep to what was set."""
        if parts <= 1:
            return self
        def divided(limit):
            return None if limit is None else limit / parts
        return self.model_copy(update={
            "concurrency": max(1, self.concurrency // parts),
            "requests_per_minute": divided(self.requests_per_minute),
            "tokens_per_minute": divided(self.tokens_per_minute),
            "max_tokens_total": None if self.max_tokens_total is None else max(1, self.max_tokens_total // parts),
            "max_cost": divided(self.max_cost)})

    def key(self) -> str:
        # Local servers (vLLM, Ollama, llama.cpp) accept any key; the client insists on one.
        return self.api_key.get_secret_value() if self.api_key else "not-needed"


def _config_file() -> Path | None:
    named = os.environ.get("JIXIAO_CONFIG")
    for path in ([Path(named)] if named else [Path("jixiao.toml"), Path.home() / ".config" / "jixiao" / "config.toml"]):
        if path.is_file():
            return path
    return None


def load_settings(**flags) -> LLMSettings:
    """Settings from flags (None means unset), environment and config file."""
    values: dict = {}
    path = _config_file()
    if path is not None:
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
            values.update(config.get("llm", {}))
            values["prices"] = config.get("prices", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: 配置文件无法解析 / cannot parse the config file ({exc})") from None
        if isinstance(values.get("examples"), str):  # a folder the file names is where the file says
            values["examples"] = path.parent / Path(values["examples"]).expanduser()
    values.update({field: os.environ[env] for field, env in _ENV.items() if os.environ.get(env)})
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        settings = LLMSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"设置有误 / invalid settings: {problems}") from None
    install_redaction(settings.key())  # the key, once read, is hidden from every log record
    return settings


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
