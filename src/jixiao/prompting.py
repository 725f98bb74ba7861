"""Prompts: versioned files in `prompts/` (`<name>.<version>.md`, Jinja2), shipped inside the
package and rendered here: each form kind's extraction prompt, and the messages every
request shares (system, part, reask_rows, reask_suspects, probe)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from .errors import ConfigError

_PACKAGED = Path(__file__).parent / "prompts"  # inside an installed wheel
_SOURCE = Path(__file__).resolve().parents[2] / "prompts"  # a source checkout or editable install


def prompts_dir() -> Path:
    """The folder holding the prompt files, installed or in a checkout."""
    for folder in (_PACKAGED, _SOURCE):
        if folder.is_dir():
            return folder
    raise ConfigError("找不到提示词文件夹 / prompt folder not found: reinstall jixiao (pip install .)")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(prompts_dir()), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render_prompt(name: str, version: str = "v1", **values: object) -> str:
    """The prompt `name.version.md` rendered with `values`; a missing value is an error."""
    try:
        template = _environment().get_template(f"{name}.{version}.md")  # compiled once, then cached
    except jinja2.TemplateNotFound:
        raise _no_prompt(name, version) from None
    return template.render(**values)


def prompt_source(name: str, version: str = "v1") -> str:
    """The prompt file `name.version.md` as written, before rendering: for a prompt whose
    values are only known later (a re-ask's), so that an edit of it can still be noticed."""
    environment = _environment()
    try:
        return environment.loader.get_source(environment, f"{name}.{version}.md")[0]
    except jinja2.TemplateNotFound:
        raise _no_prompt(name, version) from None


def _no_prompt(name: str, version: str) -> ConfigError:
    return ConfigError(f"没有提示词 {name}.{version}.md / no prompt {name}.{version}.md in {prompts_dir()}")
