"""What a run's LLM requests cost: a price per million tokens by provider and model (the
package's `prices.toml`, overridden by the config file's `[prices]`), the batch discount, and
the line a run prints."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError

from .errors import ConfigError
from .schema import Usage


class Price(BaseModel):
    """Per million tokens; `batch` is the share a provider batch job pays (0.5: half price)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    currency: str = "USD"
    batch: float = Field(0.5, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int, batch: bool = False) -> float:
        share = self.batch if batch else 1.0
        return share * (prompt_tokens * self.input + completion_tokens * self.output) / 1e6

    def of(self, usage: Usage) -> float:
        """The cost of a usage: its batch tokens at the batch price, the rest at the live one."""
        live = self.cost(usage.prompt_tokens - usage.batch_prompt_tokens,
                         usage.completion_tokens - usage.batch_completion_tokens)
        return live + self.cost(usage.batch_prompt_tokens, usage.batch_completion_tokens, batch=True)


@lru_cache(maxsize=1)
def _defaults() -> dict:
    return tomllib.loads(resources.files("jixiao").joinpath("prices.toml").read_text(encoding="utf-8"))


def provider_of(base_url: str | None) -> str | None:
    """The provider whose host the endpoint is on (prices.toml's `hosts`), or None."""
    host = urlsplit(base_url or "https://api.openai.com/v1").hostname or ""
    return next((name for name, entry in _defaults().items() if host in entry.get("hosts", ())), None)


def price_for(base_url: str | None, model: str | None, overrides: dict | None = None) -> Price | None:
    """The price of `model` at the endpoint: the config's `[prices."provider/model"]` or
    `[prices."model"]` first, then the package's table; None when neither knows it."""
    provider = provider_of(base_url)
    overrides = overrides or {}
    entry = _defaults().get(provider or "", {})
    # An override names the prices; the currency and batch share it leaves out are the
    # provider's (a DashScope price in yuan is not in dollars because the line omits it).
    known = {name: entry[name] for name in ("currency", "batch") if name in entry}
    for key in (f"{provider}/{model}", model):
        if key in overrides:
            try:
                return Price(**{**known, **overrides[key]})
            except (ValidationError, TypeError) as exc:
                raise ConfigError(f"[prices.\"{key}\"]: 价格设置有误 / invalid price ({exc}); expected "
                                  "input = …, output = … (per million tokens), currency = \"USD\", batch = 0.5") from None
    models = entry.get("models", {})
    known = models.get(model) or models.get("*")
    if known is None:
        return None
    return Price(currency=entry.get("currency", "USD"), batch=entry.get("batch", 0.5), **known)


def usage_line(totals: Usage, price: Price | None) -> str:
    """The run's requests, tokens, batch share, cache hits and estimated cost, bilingual."""
    batch = zh_batch = ""
    if totals.batch_prompt_tokens or totals.batch_completion_tokens:
        share = f" at {price.batch:g}× the price" if price is not None else ""
        batch = f" (batch job: {totals.batch_prompt_tokens} + {totals.batch_completion_tokens}{share})"
        zh_batch = f"（其中批量任务 {totals.batch_prompt_tokens} + {totals.batch_completion_tokens}）"
    cost = f"{price.of(totals):.4f} {price.currency}" if price is not None else None
    return (f"LLM usage: requests {totals.requests} · prompt tokens {totals.prompt_tokens} · completion tokens "
            f"{totals.completion_tokens}{batch} · cache hits {totals.cache_hits}/{totals.forms} forms · estimated cost "
            f"{cost or 'unknown (no price for this model: add it to [prices] in the config file)'}  "
            f"(LLM 用量：请求 {totals.requests} · 输入 {totals.prompt_tokens} · 输出 {totals.completion_tokens}{zh_batch} · "
            f"缓存命中 {totals.cache_hits}/{totals.forms} 表 · 估计费用 {cost or '未知（配置文件 [prices] 中没有此模型的价格）'})")
